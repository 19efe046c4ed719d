"""Run the offline Terraform checks over the repository and print every problem.

    python -m tools.schema.check [REPO]

Schema: the module and the examples against each AWS snapshot (the floor of versions.tf,
the latest 5.x, 6.x), each with the archive snapshot; the language's own blocks
(variable, output, module, terraform). References: every module directory.
Exit status 1 when anything is wrong.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from tools.schema.check_refs import ReferenceChecker
from tools.schema.check_schema import ProviderSchemas, check_language, check_module
from tools.schema.hcl import Problem, load_module, module_dirs

REPO = Path(__file__).resolve().parents[2]
AWS_SNAPSHOTS = ("aws-5-floor", "aws-5", "aws-6")
OTHER_SNAPSHOTS = ("archive",)


@cache
def schema_sets() -> dict[str, ProviderSchemas]:
    """One provider set per AWS snapshot (loaded once; treat as read-only)."""
    return {aws: ProviderSchemas.load(aws, *OTHER_SNAPSHOTS) for aws in AWS_SNAPSHOTS}


def reference_checker(repo: Path) -> ReferenceChecker:
    types: set[str] = set()
    attributes: dict[str, dict[str, set[str]]] = {"resource": {}, "data": {}}
    for schemas in schema_sets().values():
        types |= schemas.all_resource_types()
        for snapshot in schemas.by_provider.values():
            for kind, by_type in attributes.items():
                for type_name, schema in snapshot[kind].items():
                    if "attributes" not in schema:
                        continue
                    have = set(schema["attributes"])
                    # readable in every supported provider version
                    by_type[type_name] = by_type[type_name] & have if type_name in by_type else have
    return ReferenceChecker(resource_types=types, repo=repo, attributes=attributes)


def problems(repo: Path) -> list[Problem]:
    found: set[Problem] = set()
    refs = reference_checker(repo)
    sets = schema_sets()
    for directory in module_dirs(repo):
        module = load_module(directory, repo)
        for schemas in sets.values():
            found.update(check_module(module, schemas))
        found.update(check_language(module))
        found.update(refs.check(refs.module(directory)))
    return sorted(found)


def main(argv: list[str]) -> int:
    repo = Path(argv[0]).resolve() if argv else REPO
    found = problems(repo)
    for problem in found:
        print(problem)
    dirs = [str(d.relative_to(repo)) for d in module_dirs(repo)]
    print(f"{len(found)} problem(s) in {len(dirs)} module(s): {', '.join(dirs)}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
