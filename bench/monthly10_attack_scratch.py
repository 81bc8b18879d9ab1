"""Two consecutive monthly runs' published tables against the suite's attacker, with a
truth holding every single month Mar 2025 - Mar 2026 as its own period."""
import sys, dataclasses, shutil
from pathlib import Path
sys.path.insert(0, "/work/wt-monthly10/tests")
import polars as pl
import test_disclosure_attacks as A
from eolneeds.assess import compute_indicators
from eolneeds.config import DisclosureConfig, load_config
from eolneeds.db import connect
from eolneeds import periods as P
proj = Path(sys.argv[1])
config = load_config(proj)
open_config = dataclasses.replace(config, disclosure=DisclosureConfig(min_count=0))
months = ["2025-03","2025-04","2025-05","2025-06","2025-07","2025-08","2025-09","2025-10","2025-11","2025-12","2026-01","2026-02","2026-03"]
pers = [P.rolling(m, 1) for m in months] + [P.rolling("2026-02", 12), P.rolling("2026-03", 12)]
con = connect(config.database_path)
try:
    truth = compute_indicators(open_config, con, periods=pers)
finally:
    con.close()
pubs = [pl.read_parquet(proj / f"output/{m}/indicators.parquet") for m in ("2026-02", "2026-03")]
cols = truth.columns
both = pl.concat([p.select(cols).cast(truth.schema) for p in pubs])
both = both.filter(~pl.col("breakdown_value").is_in(["SII", "RII"]) & pl.col("period").str.contains(" to "))
con = connect(config.database_path)
pcn = dict(con.execute("SELECT practice_code, pcn_code FROM practices WHERE end_date IS NULL").fetchall()); con.close()
rec = A._recoverable(truth, both, pcn)
print("recovered", len(rec))
for r in rec[:30]:
    print(r)
