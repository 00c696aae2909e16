"""`frstance report`: one self-contained HTML file, and XLSX / CSV exports of the shared tables."""
