"""The controlled distillation test of issue "Federated LoRA training I" (slow: pretrains tiny bases)."""
from __future__ import annotations

import pytest

from knexa_core.fl.config import FederationConfig
from knexa_core.fl.controlled import distillation_check


@pytest.mark.slow
def test_a_teacher_that_solves_a_category_raises_a_student_that_lacks_it() -> None:
    choice = FederationConfig.for_profile("cpu").backbone_choice()
    result = distillation_check(choice, category="math")
    assert result.teacher_pass1 >= 0.5          # the teacher really solves held-out instances of c
    assert result.student_before == 0.0         # the student starts without c
    assert result.student_after > result.control_after  # the package, not local training, explains the gain
