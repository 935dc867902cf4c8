"""The first graded test of every lab: it builds.  Each lab module binds its
own copy (test_builds = builds_test()), so the title is the same in every lab."""

from grader.harness import graded, kit
from grader.harness.expect import expect
from grader.harness.kit import _N


# The builds test's title and what it does (its docstring below), marked for the .po.
BUILDS_TITLE = _N("builds (warnings are errors)")
BUILDS_DESCRIPTION = _N("the lab's Makefile builds it with `-Wall -Wextra -Werror`")
BUILD_HINT = _N("Run `make` in the lab folder and fix the first error it shows. The kit builds "
                "with -Wall -Wextra -Werror, so a warning counts as an error.")


def builds_test(points: int = 1):
    """The first test of every lab: the lab compiles with the kit's Makefile."""

    @graded(points=points, hint=BUILD_HINT, timeout=300)
    def test_builds(lab_build):
        """builds (warnings are errors)

        the lab's Makefile builds it with `-Wall -Wextra -Werror`
        """
        expect(lab_build.ok, f"{lab_build.problem}\n{kit.first_errors(lab_build.output)}".strip())

    return test_builds
