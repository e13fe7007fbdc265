"""Suite-wide fixtures, each defined in its own module under tests/support/ (append to this list, don't replace)."""

pytest_plugins = [
    "tests.support.servers",
    "tests.support.postgres",
    "tests.support.browser",
]
