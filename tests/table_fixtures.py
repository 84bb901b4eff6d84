"""Two lab tables: results in columns aligned with spaces (a column per time, newest
first) and in markdown rows (a row per time)."""

ALIGNED = """Cumulatief overzicht

Bepaling        21-11 06:10   20-11 06:05   19-11 22:40   Eenheid    Referentie
Hemoglobine     7,4 L         7,6 L         8,2 L         mmol/l     8,5 - 11,0
Kalium          5,3 H                       4,2           mmol/l     3,5 - 5,0
CRP             23 H          31 H          <5            mg/l       < 10

Opmerking: kalium niet gehemolyseerd."""

MARKDOWN = """Beloop:

| datum   | kreatinine (µmol/l) | Hb (mmol/l) |
|---------|---------------------|-------------|
| maart   | 132                 | 8,3         |
| vandaag | 161 (↑)             | 8,7         |

Verder: CRP 3 mg/l."""
