Import("env")  # noqa: F821  (SCons)
