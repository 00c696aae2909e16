"""Slide-ready charts as PNG data URIs (matplotlib, Agg backend; nothing is fetched).

PNG, not SVG: the image carries no markup, so text from the corpus (outlet names, actor
names) drawn in a chart can never become HTML in the report.
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pipeline.schemas import STANCE_LABELS  # noqa: E402

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
COLOURS = {"ban": "#D55E00", "oversight": "#0072B2", "neutral": "#999999"}
plt.rcParams.update({"font.size": 11, "axes.titlesize": 14, "axes.titleweight": "bold",
                     "axes.spines.top": False, "axes.spines.right": False, "svg.hashsalt": "frstance",
                     "font.family": "DejaVu Sans"})


def _data_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _empty(title: str, message: str) -> str:
    fig, ax = plt.subplots(figsize=(9, 2.2))
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#555555")
    ax.set_axis_off()
    return _data_uri(fig)


def _short(label: str, width: int = 28) -> str:
    label = str(label)
    return label if len(label) <= width else label[: width - 1] + "…"


def stance_over_time(df: pd.DataFrame) -> str:
    title = "Stance of on-topic articles over time"
    if df.empty:
        return _empty(title, "No dated on-topic articles in this run")
    fig, ax = plt.subplots(figsize=(10, 4.2))
    x = np.arange(len(df))
    bottom = np.zeros(len(df))
    for s in STANCE_LABELS:
        vals = df[f"share_{s}"].to_numpy(dtype=float)
        ax.bar(x, vals, bottom=bottom, color=COLOURS[s], label=s, width=0.8)
        bottom += vals
    ban = df["share_ban"].to_numpy(dtype=float)
    err = np.clip(np.vstack([ban - df["low_ban"].to_numpy(dtype=float),
                             df["high_ban"].to_numpy(dtype=float) - ban]), 0.0, None)  # rounding at 0 and 1
    ax.errorbar(x, ban, yerr=err, fmt="none", ecolor="black", elinewidth=1, capsize=3,
                label="ban share, 95% interval")
    labels = [pd.Timestamp(p).strftime("%b %Y") for p in df["period"]]  # a period's first month
    step = max(1, len(labels) // 12)
    ax.set_xticks(x[::step], labels[::step], rotation=45, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("Share of on-topic articles")
    ax.set_xlabel("Period of publication (month, quarter or year, by the run's span)")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return _data_uri(fig)


def stance_by_outlet(df: pd.DataFrame) -> str:
    title = "Stance by outlet (most on-topic articles first)"
    if df.empty:
        return _empty(title, "No on-topic articles in this run")
    df = df.iloc[::-1]
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(df) + 1.6))
    y = np.arange(len(df))
    left = np.zeros(len(df))
    for s in STANCE_LABELS:
        vals = df[f"share_{s}"].to_numpy(dtype=float)
        ax.barh(y, vals, left=left, color=COLOURS[s], label=s)
        left += vals
    ax.set_yticks(y, [f"{_short(o)} (n={n})" for o, n in zip(df["outlet"], df["n"])])
    ax.set_xlim(0, 1)
    ax.set_xlabel("Share of the outlet's on-topic articles")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return _data_uri(fig)


def actors_by_stance(df: pd.DataFrame) -> str:
    title = "Most-quoted actors: quotes by stance"
    if df.empty:
        return _empty(title, "No quoted person or organisation with a stance")
    df = df.iloc[::-1]
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(df) + 1.6))
    y = np.arange(len(df))
    left = np.zeros(len(df))
    for s in STANCE_LABELS:
        vals = df[f"n_{s}"].to_numpy(dtype=float)
        ax.barh(y, vals, left=left, color=COLOURS[s], label=s)
        left += vals
    ax.set_yticks(y, [_short(n) for n in df["name"]])
    ax.set_xlabel("Quotes with a stance")
    ax.set_title(title)
    ax.legend(loc="lower right", frameon=False)
    return _data_uri(fig)
