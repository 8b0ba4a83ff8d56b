"""SCons builder for the offline native platform: a host gcc/g++ program."""

from SCons.Script import AlwaysBuild, Default, DefaultEnvironment  # pylint: disable=import-error

env = DefaultEnvironment()

env.Replace(CC="gcc", CXX="g++", AR="ar", RANLIB="ranlib", AS="gcc")
env.Append(
    CCFLAGS=["-Wall", "-Wextra"],
    CFLAGS=["-std=gnu11"],
    CXXFLAGS=["-std=gnu++11"],
)

program = env.BuildProgram()
AlwaysBuild(env.Alias("exec", program, "$SOURCE"))
Default(program)
