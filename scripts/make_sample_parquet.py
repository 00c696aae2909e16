"""Write the bundled demo archive feed: data/sample/feeds/archive.parquet.

All rows are fictional (invented people, organisations, cities and outlets;
``.example``/``.test`` domains). The rows live here as Python literals so the
file can be regenerated deterministically:

    .venv/bin/python scripts/make_sample_parquet.py

Columns: url, title, excerpt, published, provider, domain -- all strings
(``published`` is an ISO 8601 string, exactly as an archive export stores it).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_PATH = REPO_ROOT / "data" / "sample" / "feeds" / "archive.parquet"

COLUMNS = ["url", "title", "excerpt", "published", "provider", "domain"]

ROWS: list[dict[str, str]] = [
    {
        "url": "https://dailymeridian.example/business/2019/03/12/veridex-retail-contract",
        "title": "Veridex Vision signs deal to supply loss-prevention cameras to Corbel Markets",
        "excerpt": (
            "The Harborview software company will install face-matching systems in 60 Corbel "
            "Markets grocery stores over the next year, its largest retail contract so far."
        ),
        "published": "2019-03-12T09:00:00Z",
        "provider": "The Daily Meridian",
        "domain": "dailymeridian.example",
    },
    {
        "url": "https://policydispatch.example/2019/12/03/whitlock-state-moratorium",
        "title": "Whitlock: Northmere needs a statewide moratorium before more cities buy face recognition",
        "excerpt": (
            "\u201cEvery month we wait, another department signs a contract,\u201d Dana Whitlock "
            "of the Digital Rights Alliance told lawmakers, urging a pause on all government use."
        ),
        "published": "2019-12-03T11:30:00Z",
        "provider": "Policy Dispatch",
        "domain": "policydispatch.example",
    },
    {
        "url": "https://millbrookcourier.example/region/2020/08/19/alvarez-use-policy",
        "title": "Alvarez unveils model use policy in bid to reverse Harborview ban",
        "excerpt": (
            "Police Chief Robert Alvarez said the policy, which requires warrants, audits and "
            "human review of every match, shows the technology can be used responsibly."
        ),
        "published": "2020-08-19T15:00:00Z",
        "provider": "Millbrook Courier",
        "domain": "millbrookcourier.example",
    },
    {
        "url": "https://signalcircuit.example/hardware/2021/01/26/startup-photonic-ai-chip",
        "title": "Start-up Lumenfold raises $60 million for light-based AI chips",
        "excerpt": (
            "The company says its photonic processors can run language and recommendation "
            "models using a fraction of the power of conventional accelerators."
        ),
        "published": "2021-01-26T13:00:00Z",
        "provider": "Signal & Circuit",
        "domain": "signalcircuit.example",
    },
    {
        "url": "https://wirestream.example/policy/2021/10/05/port-sedge-moratorium",
        "title": "Port Sedge council approves moratorium on police face recognition",
        "excerpt": (
            "The council voted 4-1 to pause police use of facial recognition for three years; "
            "Councilmember Irene Vasquez said the city would \u201crather be late than wrong.\u201d"
        ),
        "published": "2021-10-05T21:45:00Z",
        "provider": "Wirestream News",
        "domain": "wirestream.example",
    },
    {
        "url": "https://northmeregazette.example/politics/2022/11/15/attorney-general-face-recognition-guidance",
        "title": "Attorney general issues guidance requiring audits for police face recognition",
        "excerpt": (
            "Attorney General Helen Marsh said agencies that keep using the technology must log "
            "every search, test accuracy annually and disclose its use to defendants."
        ),
        "published": "2022-11-15T10:00:00Z",
        "provider": "The Northmere Gazette",
        "domain": "northmeregazette.example",
    },
    {
        "url": "https://biometricsbusiness.example/standards/2023/03/21/testing-protocol-draft",
        "title": "Vendors back draft national testing protocol for face-matching systems",
        "excerpt": (
            "The Biometric Technology Association and Veridex Vision endorsed a draft protocol "
            "that would require third-party accuracy tests before any sale to a public agency."
        ),
        "published": "2023-03-21T14:30:00Z",
        "provider": "Biometrics Business Review",
        "domain": "biometricsbusiness.example",
    },
    {
        "url": "https://civictechwire.example/2024/09/10/dra-report-watched",
        "title": "Rights group\u2019s report \u201cWatched\u201d calls for ban on face recognition in housing",
        "excerpt": (
            "The Digital Rights Alliance report titled \u201cWatched\u201d documents face-scanning "
            "entry systems in 19 apartment buildings and calls for a ban on their use by landlords."
        ),
        "published": "2024-09-10T08:00:00Z",
        "provider": "Civic Tech Wire",
        "domain": "civictechwire.example",
    },
]


def build_table() -> pa.Table:
    schema = pa.schema([pa.field(name, pa.string(), nullable=True) for name in COLUMNS])
    columns = {name: [row[name] for row in ROWS] for name in COLUMNS}
    return pa.Table.from_pydict(columns, schema=schema)


def main() -> None:
    for row in ROWS:
        assert list(row) == COLUMNS, row.get("url")
    table = build_table()
    OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, OUT_PATH, compression="zstd")
    print(f"wrote {table.num_rows} rows to {OUT_PATH.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
