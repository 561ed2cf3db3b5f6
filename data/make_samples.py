"""Regenerate the sample CSV files in this folder (deterministic: fixed seeds).

Run from the repository root: ``.venv/bin/python data/make_samples.py``.

sample_data.csv (clustering, 300 rows)
    Three well-separated customer groups of 100, each a Gaussian blob in ``age``,
    ``annual_income_k`` and ``spending_score``: young/low income/high spending,
    middle-aged/high income/low spending, older/middle income/middle spending.

sample_classification.csv (500 rows, target ``plan``: basic / standard / premium)
    ``customer_id`` (an identifier, dropped by the preprocessor), ``age`` (5 % missing,
    no effect), ``monthly_spend`` (1 % missing), ``visits_per_month`` (noisy, follows
    spend), ``region`` (3 % missing, no effect), ``device``, ``has_children`` (yes/no)
    and ``signup_date`` (ISO dates, no effect). The rule: tablet users are basic; for
    the others ``score = monthly_spend + 30 if has_children``, and ``plan`` is basic
    below 50, premium from 90, standard between. Then 1 % of the labels are replaced
    by a random plan (noise).

sample_regression.csv (300 rows, target ``price_k``)
    ``area_m2``, ``rooms``, ``neighbourhood`` (4 values), ``has_garden`` (yes/no),
    ``year_built``; ``price_k = 1.6 * area_m2 + 8 * rooms + neighbourhood premium
    (0 / 40 / 90 / 150) + 25 if garden + 0.4 * (year_built - 1950) + noise(sd 12)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def make_clusters(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    centres = [(25, 30, 78), (45, 90, 20), (62, 55, 50)]
    spreads = [(3.5, 6, 7), (4.5, 8, 6), (4, 6, 6)]
    rows = []
    for (age, income, score), (s_age, s_income, s_score) in zip(centres, spreads, strict=True):
        rows.append(
            pd.DataFrame(
                {
                    "age": np.round(rng.normal(age, s_age, 100)).astype(int),
                    "annual_income_k": np.round(rng.normal(income, s_income, 100), 1),
                    "spending_score": np.clip(np.round(rng.normal(score, s_score, 100)), 1, 100),
                }
            )
        )
    df = pd.concat(rows, ignore_index=True)
    df["spending_score"] = df["spending_score"].astype(int)
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def make_classification(seed: int = 11, n: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    spend = np.round(rng.uniform(10, 120, n), 2)
    device = rng.choice(["mobile", "desktop", "tablet"], n, p=[0.5, 0.35, 0.15])
    children = rng.choice(["yes", "no"], n, p=[0.4, 0.6])
    score = spend + 30 * (children == "yes")
    plan = np.where(score < 50, "basic", np.where(score < 90, "standard", "premium"))
    plan[device == "tablet"] = "basic"
    noisy = rng.random(n) < 0.01
    plan[noisy] = rng.choice(["basic", "standard", "premium"], noisy.sum())
    start = np.datetime64("2021-01-01")
    df = pd.DataFrame(
        {
            "customer_id": [f"C{i:04d}" for i in range(1, n + 1)],
            "age": rng.integers(18, 76, n).astype(float),
            "monthly_spend": spend,
            "visits_per_month": np.clip(np.round(spend / 10 + rng.normal(0, 3, n)), 0, None),
            "region": rng.choice(["north", "south", "east", "west"], n),
            "device": device,
            "has_children": children,
            "signup_date": (start + rng.integers(0, 3 * 365, n)).astype(str),
            "plan": plan,
        }
    )
    df["visits_per_month"] = df["visits_per_month"].astype(int)
    for column, share in (("age", 0.05), ("monthly_spend", 0.01), ("region", 0.03)):
        df.loc[rng.random(n) < share, column] = np.nan
    df["age"] = df["age"].astype("Int64")
    return df


def make_regression(seed: int = 5, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    area = np.round(rng.uniform(35, 220, n))
    rooms = np.clip(np.round(area / 30 + rng.normal(0, 0.8, n)), 1, 9).astype(int)
    premiums = {"riverside": 150, "old town": 90, "suburbs": 40, "industrial": 0}
    hood = rng.choice(list(premiums), n)
    garden = rng.choice(["yes", "no"], n, p=[0.45, 0.55])
    year = rng.integers(1950, 2024, n)
    price = (
        1.6 * area
        + 8 * rooms
        + np.array([premiums[h] for h in hood])
        + 25 * (garden == "yes")
        + 0.4 * (year - 1950)
        + rng.normal(0, 12, n)
    )
    return pd.DataFrame(
        {
            "area_m2": area.astype(int),
            "rooms": rooms,
            "neighbourhood": hood,
            "has_garden": garden,
            "year_built": year,
            "price_k": np.round(price, 1),
        }
    )


def main() -> None:
    make_clusters().to_csv(HERE / "sample_data.csv", index=False)
    make_classification().to_csv(HERE / "sample_classification.csv", index=False)
    make_regression().to_csv(HERE / "sample_regression.csv", index=False)


if __name__ == "__main__":
    main()
