"""Each stage of src/ (a folder, one library) may include only its own
headers and those of the stages it links, as src/CMakeLists.txt declares
them (alf_stage ... LINK ...): a dependency that points the wrong way fails
here, by name, even where the linker would find the symbol anyway."""

import os
import re
import sys

SOURCE_DIR = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
SRC = os.path.join(SOURCE_DIR, "src")

# The stage each library is, by its folder; alf_compiler and alf_headers are parts of compile/.
FOLDER_OF = {"alf_common": "common", "alf_compiler": "compile", "alf_headers": "compile", "alf_compile": "compile",
             "alf_bpf": "bpf", "alf_inputs": "inputs", "alf_classic": "classic", "alf_launch": "launch",
             "alf_pipeline": "pipeline", "alf_workbench": "workbench", "alf_live": "live", "alf_cli": "cli"}


def declared_links():
    text = open(os.path.join(SRC, "CMakeLists.txt")).read()
    links = {}
    for name, body in re.findall(r"alf_stage\((alf_\w+)(.*?)\)\n", text, re.S):
        match = re.search(r"LINK(.*)", body, re.S)
        links[name] = [w for w in (match.group(1).split() if match else []) if w in FOLDER_OF]
    # compile/ is three libraries: the compiler, the embedded headers and the rest.
    links.setdefault("alf_compiler", ["alf_common"])
    return links


def allowed_folders(links):
    allowed = {}
    for library, folder in FOLDER_OF.items():
        seen, todo = set(), [library]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            todo.extend(links.get(current, []))
        allowed.setdefault(folder, set()).update(FOLDER_OF[l] for l in seen)
    return allowed


def main():
    allowed = allowed_folders(declared_links())
    wrong = []
    for folder in sorted(allowed):
        for root, _, files in os.walk(os.path.join(SRC, folder)):
            for name in files:
                path = os.path.join(root, name)
                for number, line in enumerate(open(path), 1):
                    match = re.match(r'#include "(\w+)/', line)
                    if match and match.group(1) not in allowed[folder]:
                        wrong.append(f"src/{folder}/{name}:{number}: includes {match.group(1)}/ "
                                     f"(src/{folder} may use {', '.join(sorted(allowed[folder]))})")
    for line in wrong:
        print(line)
    print(f"{len(wrong)} include(s) against the stages' order" if wrong else "every stage includes only the stages it links")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
