"""Evaluation harness: sandboxed execution, unbiased Pass@k, CodeBLEU (appendix "Evaluation harness")."""
from knexa_core.eval.codebleu_score import codebleu_pair, codebleu_scores, mean_codebleu
from knexa_core.eval.harness import (EvaluationResult, SampleResult, evaluate_references, evaluate_samples,
                                     run_programs)
from knexa_core.eval.isolation import isolation
from knexa_core.eval.passk import mean_pass_at_k, pass_at_k
from knexa_core.eval.postprocess import clean_completion, fix_indentation, truncate_at_stops
from knexa_core.eval.sandbox import ExecResult, Limits, run_isolated, run_program, shutdown_servers

__all__ = ["EvaluationResult", "ExecResult", "Limits", "SampleResult", "clean_completion", "codebleu_pair",
           "codebleu_scores", "evaluate_references", "evaluate_samples", "fix_indentation", "isolation",
           "mean_codebleu", "mean_pass_at_k", "pass_at_k", "run_isolated", "run_program", "run_programs",
           "shutdown_servers", "truncate_at_stops"]
