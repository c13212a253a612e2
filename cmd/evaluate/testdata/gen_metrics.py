#!/usr/bin/env python3
"""Generates metrics_cases.json: the oracle for cmd/evaluate's metrics.

Each case has K classes, true labels and float32 logits; scikit-learn
(Debian's python3-sklearn 1.2.1) computes the confusion matrix, accuracy,
classification_report (dict and text, digits 2 and 4, zero_division=0 as
sklearn's default "warn" gives) and log_loss of softmax(logits), which is
Keras's sparse categorical cross-entropy from logits. Run from this folder:

    /usr/bin/python3 gen_metrics.py > metrics_cases.json
"""
import json

import numpy as np
from scipy.special import log_softmax, softmax
from sklearn.metrics import (accuracy_score, classification_report,
                             confusion_matrix, log_loss)


def case(name, classes, y_true, logits):
    logits = np.asarray(logits, dtype=np.float32)
    y_true = np.asarray(y_true)
    k = len(classes)
    labels = list(range(k))
    y_pred = logits.argmax(axis=1)
    probs = softmax(logits.astype(np.float64), axis=1)
    return {
        "name": name,
        "classes": classes,
        "y_true": y_true.tolist(),
        # float32 values printed exactly (repr of the float64 they widen to)
        "logits": [[float(v) for v in row] for row in logits],
        "y_pred": y_pred.tolist(),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "accuracy": accuracy_score(y_true, y_pred),
        "loss": float(-log_softmax(logits.astype(np.float64), axis=1)[np.arange(len(y_true)), y_true].mean()),
        "log_loss": log_loss(y_true, probs, labels=labels),
        "report": classification_report(y_true, y_pred, labels=labels, target_names=classes,
                                        output_dict=True, zero_division=0),
        "text2": classification_report(y_true, y_pred, labels=labels, target_names=classes,
                                       digits=2, zero_division=0),
        "text4": classification_report(y_true, y_pred, labels=labels, target_names=classes,
                                       digits=4, zero_division=0),
    }


rng = np.random.default_rng(7)
cases = []

# 3 classes, 40 samples, logits leaning to the truth
y = rng.integers(0, 3, 40)
lg = rng.normal(0, 1.5, (40, 3)) + 1.2 * np.eye(3)[y]
cases.append(case("three classes", ["ants", "bees", "wasps"], y, lg))

# binary, 25 samples
y = rng.integers(0, 2, 25)
lg = rng.normal(0, 1, (25, 2)) + 0.8 * np.eye(2)[y]
cases.append(case("binary", ["cats", "dogs"], y, lg))

# 4 classes: class 3 never true (support 0) but predicted; class 1 never predicted
y = rng.choice([0, 1, 2], 30)
lg = rng.normal(0, 1, (30, 4))
lg[:, 1] -= 10
lg[:5, 3] += 10
cases.append(case("zero support and never predicted", ["a", "b", "c", "d"], y, lg))

# 5 classes, perfect, one class neither true nor predicted, a long and a non-ASCII name
y = np.array([0, 1, 2, 3, 0, 1, 2, 3, 3])
lg = 5.0 * np.eye(5)[y] + rng.normal(0, 0.1, (9, 5))
cases.append(case("perfect with an absent class", ["n01440764_tench", "Ärger", "c", "d", "a very long class name"], y, lg))

# large confident logits: the loss needs log-softmax, not log(softmax)
y = rng.integers(0, 3, 12)
lg = rng.normal(0, 40, (12, 3))
cases.append(case("large logits", ["x", "y", "z"], y, lg))

json.dump(cases, __import__("sys").stdout, indent=1, ensure_ascii=False)
print()
