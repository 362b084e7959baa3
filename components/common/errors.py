"""The one base of every error keel-pipelines raises on purpose.

    from components.common.errors import KeelError
    try:
        ...
    except KeelError as error:   # bad input, a refused model, a failed check: the message says why
        print(error)

Each library error also derives from the built-in it refines (DataError is a ValueError,
RegistryError a LookupError...), so callers that catch those keep working. Messages name the file,
column or parameter, the value and the rule.
"""


class KeelError(Exception):
    """An error keel-pipelines raises on purpose, with a message meant for the user."""


class ParameterError(KeelError, ValueError):
    """A parameter value that breaks its rule; the message names the parameter, the value and the rule."""


class DefinitionError(KeelError, ValueError):
    """A component or pipeline defined in a way keel cannot use; the message names it and the rule."""


def parameter_error(name: str, value: object, rule: str) -> ParameterError:
    """`parameter 'name' = value: rule`, as a ParameterError."""
    return ParameterError(f"parameter {name!r} = {value!r}: {rule}")
