"""The controlled distillation test of issue "Federated LoRA training I" (slow: pretrains tiny bases)."""
from __future__ import annotations

import pytest

from knexa_core.fl.config import FederationConfig
from knexa_core.fl.controlled import distillation_check


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="measured 2026-11-30: on the cpu tiny bases the teacher reaches 0% on held-out "
                   "instances of its category (12 epochs at lr 2e-3 and 40 at 5e-3, 16 training problems of 4 task "
                   "families), so there is nothing to distil yet; see issue 9's note. strict: a pass shows up as a failure")
def test_a_teacher_that_solves_a_category_raises_a_student_that_lacks_it() -> None:
    choice = FederationConfig.for_profile("cpu").backbone_choice()
    result = distillation_check(choice, category="math")
    assert result.teacher_pass1 >= 0.5          # the teacher really solves held-out instances of c
    assert result.student_before == 0.0         # the student starts without c
    assert result.student_after > result.control_after  # the package, not local training, explains the gain
