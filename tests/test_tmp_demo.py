import time, json
from datetime import UTC, date, datetime
from survey import clock, demo, settings
from survey.scoring import complaint_cases, complaints

def test_demo(app, client_as):
    clock.freeze(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))
    t=time.perf_counter()
    demo.load(seed=7, today=date(2026, 11, 29), size=4000)
    print("load", time.perf_counter()-t)
    for period in ("30d", "90d"):
        q = complaint_cases.parse({"from": "2026-09-01" if period=="90d" else "2026-10-31", "to": "2026-11-29"})
        body = complaints.as_json(complaint_cases.report(q, 5))
        print(period, json.dumps({k: body[k] for k in ("cases","year_earlier","commitments","first_contact","satisfaction","met_versus_missed")}, ensure_ascii=False, indent=0))
    c = client_as("quality")
    for i in range(3):
        t=time.perf_counter(); r=c.get("/complaints?period=90d"); print("page", r.status_code, time.perf_counter()-t)
    t=time.perf_counter(); r=c.get("/?period=90d"); print("overview", r.status_code, time.perf_counter()-t)
