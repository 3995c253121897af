"""The shop's label."""


def label() -> str:
    return "shop"
