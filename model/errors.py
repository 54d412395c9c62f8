"""The one exception type that reaches the user as a single line."""


class ScenarioError(ValueError):
    """Bad user input: a scenario, a design or a command-line value.

    The message is one line naming the file, the key path, the bad value and
    what is allowed. The command line prints it and exits with status 2.
    """


def breakdown(scenario: str, quarter: str, measure: str, value: float) -> str:
    """The one-line message for a run whose measures stopped being finite numbers."""
    return (
        f"{scenario}: quarter {quarter}: the measure {measure} is {value}, "
        "not a finite number; the scenario's values make the model break down "
        "(check very large or very small economic weights)"
    )
