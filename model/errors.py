"""The one exception type that reaches the user as a single line."""


class ScenarioError(ValueError):
    """Bad user input: a scenario, a design or a command-line value.

    The message is one line naming the file, the key path, the bad value and
    what is allowed. The command line prints it and exits with status 2.
    """
