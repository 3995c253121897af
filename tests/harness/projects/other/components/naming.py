"""The other project's label."""


def label() -> str:
    return "other"
