"""A controlled distillation experiment: does a teacher that solves a category teach a student that lacks it?

1. A teacher (one tiny family) trains locally on problems of category ``c`` only, until the end of
   its epochs; we measure its greedy Pass@1 on held-out instances of ``c``.
2. Its knowledge package is its decoded completions on *other* prompts of ``c`` (never the
   held-out ones), exactly as in a federated round (:meth:`Agent.generate`).
3. A student of another family, whose own data has no problem of ``c``, trains with the AKD
   objective of Eq. 2 on its local data plus that package; we measure its Pass@1 on the held-out
   instances of ``c`` before and after. A second student with the same seed and local data but no
   package is the control (local training alone must not explain the gain), and a third, trained
   on the same prompts with the teacher's text from *before* its training, is the placebo (seeing
   the category's prompts and taking the extra gradient steps must not explain it either).
Chapter ``02_federated_training``, section "A controlled test"; ``tests/test_fl_controlled.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

from knexa_core.data.categories import CATEGORIES
from knexa_core.data.synthetic import synthetic_problems
from knexa_core.errors import ConfigError
from knexa_core.fl.agent import Agent, TrainConfig
from knexa_core.fl.evaluate import score
from knexa_core.fl.models import BackboneChoice, load_lora_model
from knexa_core.fl.pretrain import tiny_base


@dataclass(frozen=True)
class ControlledResult:
    category: str
    teacher_pass1: float
    package_items: int
    student_before: float
    student_after: float
    control_after: float        # same student, same epochs, no package
    placebo_after: float        # same student, same prompts, the *untrained* teacher's text (no knowledge)


SOLVES = 1 / 3  # "a teacher that solves c": at least 4 of its 12 held-out problems (test and chapter 02)


def _agent(family: str, choice: BackboneChoice, train, seed: int, config: TrainConfig, name: str) -> Agent:
    model, tok = load_lora_model(str(tiny_base(family, choice.size, choice.pretrain)), family, choice.tiny_rank,
                                 seed, choice.train_final_norm)
    return Agent(name, family, model, tok, train, train[:4], config, seed)


def distillation_check(choice: BackboneChoice, category: str = "math", epochs: int = 12, alpha: float = 0.5,
                       seed: int = 0, max_new_tokens: int = 48, lr: float = 2e-3) -> ControlledResult:
    """Run the three steps above; returns the Pass@1 values (fractions)."""
    if category not in CATEGORIES:
        raise ConfigError(f"unknown category {category!r}: choose one of {', '.join(CATEGORIES)}")
    problems = synthetic_problems(51, seed=1000 + seed)  # 51 per category: the most with unique bodies
    c = [p for p in problems if p.category == category]
    others = [p for p in problems if p.category != category][:40]
    train_c, package_prompts, held_out = c[:24], c[24:39], c[39:]  # 6 / ~4 / 3 per family
    config = TrainConfig(lr=lr, micro_batch=8, accumulate=1, total_rounds=epochs)
    teacher = _agent("qwen", choice, train_c, seed, config, "teacher")
    student = _agent("pythia", choice, others, seed + 1, config, "student")
    control = _agent("pythia", choice, others, seed + 1, config, "control")
    placebo = _agent("pythia", choice, others, seed + 1, config, "placebo")
    untrained = [(p.prompt, o[0]) for p, o in zip(package_prompts, teacher.generate(package_prompts, max_new_tokens))]
    for _ in range(epochs):
        teacher.train_round()
    teacher_pass = score(teacher, held_out, max_new_tokens, codebleu=False).pass_at_k["pass@1"]
    texts = [o[0] for o in teacher.generate(package_prompts, max_new_tokens)]
    package = [(p.prompt, t) for p, t in zip(package_prompts, texts)]
    before = score(student, held_out, max_new_tokens, codebleu=False).pass_at_k["pass@1"]
    for _ in range(epochs):
        student.train_round(package, alpha)
        control.train_round()
        placebo.train_round(untrained, alpha)
    after, control_after, placebo_after = (score(a, held_out, max_new_tokens, codebleu=False).pass_at_k["pass@1"]
                                           for a in (student, control, placebo))
    return ControlledResult(category, teacher_pass, len(package), before, after, control_after, placebo_after)
