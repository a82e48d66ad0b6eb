"""Federated LoRA training: backbones, agents, AKD, guardrail, methods and the driver (chapter 02_federated_training)."""
