#!/usr/bin/env python3
"""Checks that the profile-guided build found its profiles (a test; tools/pgo/CMakeLists.txt).

GCC compiles a source with -fprofile-use and no profile as if there were none, and the build
hides that warning (code the training never reaches has no profile, on purpose). So if the
profiles' names ever stopped matching the objects' (a new CMake or GCC, a changed layout), the
build would silently lose what the profile gains. This reads the build's compile_commands.json
and fails unless every source compiled with -fprofile-use has its profile where GCC looks for it,
except the few listed below that the training does not reach; and it compiles one of them again
(in a scratch directory, its object at the same relative path) with the missing-profile warning
made an error, so that GCC itself confirms the name.

usage: check_profile.py BUILD_DIR/compile_commands.json
"""

import json
import os
import shlex
import subprocess
import sys
import tempfile

# Sources of the profiled libraries that translating a message never runs.
NOT_TRAINED = {
    "gateway/core/message.cpp",  # the journal's message record
    "adapters/hl7v2/ack.cpp",  # ACKs are built by the listener, not by the translation
}

# The source GCC compiles again: small, and on the path of every message.
GCC_CHECKED = "adapters/hl7v2/path.cpp"


def gcc_finds_profile(entry):
    """Compiles the entry again in a scratch directory standing in for the build directory."""
    args = shlex.split(entry["command"])
    obj = args[args.index("-o") + 1]
    if os.path.isabs(obj):  # the profile's name comes from the object's path in the build directory
        print(f"check_profile: {obj}: expected a path relative to the build directory", file=sys.stderr)
        return False
    with tempfile.TemporaryDirectory() as scratch:
        os.makedirs(os.path.join(scratch, os.path.dirname(obj)), exist_ok=True)
        again = [a for a in args if not a.startswith("-fprofile-prefix-path=") and a != "-Wno-missing-profile"]
        again += ["-fprofile-prefix-path=" + scratch, "-Werror=missing-profile", "-Werror=coverage-mismatch"]
        result = subprocess.run(again, cwd=scratch, capture_output=True, text=True)
        if result.returncode != 0:
            print(result.stderr, file=sys.stderr)
        return result.returncode == 0


def option(args, name):
    for arg in args:
        if arg.startswith(name + "="):
            return arg[len(name) + 1:]
    return None


def main():
    commands_file = sys.argv[1]
    with open(commands_file, encoding="utf-8") as f:
        commands = json.load(f)
    source_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    checked, missing, gcc_checked = 0, [], None
    for entry in commands:
        args = shlex.split(entry["command"])
        data = option(args, "-fprofile-use")
        if data is None or "-fno-profile-use" in args:
            continue
        prefix = option(args, "-fprofile-prefix-path")
        obj = args[args.index("-o") + 1]
        path = os.path.normpath(os.path.join(entry["directory"], obj))
        if prefix:
            path = os.path.relpath(path, prefix)
        stem, _ = os.path.splitext(path)  # "….cpp.o" → "….cpp"
        profile = os.path.join(data, stem.replace(os.sep, "#") + ".gcda")
        source = os.path.relpath(entry["file"], source_root)
        checked += 1
        if not os.path.isfile(profile) and source not in NOT_TRAINED:
            missing.append(f"{source}: no profile at {profile}")
        if source == GCC_CHECKED:
            gcc_checked = entry
    if checked == 0:
        print("check_profile: no source is compiled with -fprofile-use", file=sys.stderr)
        return 1
    if gcc_checked is None:
        missing.append(f"{GCC_CHECKED}: not compiled with -fprofile-use")
    elif not gcc_finds_profile(gcc_checked):
        missing.append(f"{GCC_CHECKED}: GCC finds no profile for it (above)")
    for line in missing:
        print("check_profile: " + line, file=sys.stderr)
    print(f"check_profile: {checked} sources compiled with -fprofile-use, {len(missing)} problems")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
