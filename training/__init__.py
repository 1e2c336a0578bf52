"""Offline package: data, tokenizer training, model training and evaluation."""
