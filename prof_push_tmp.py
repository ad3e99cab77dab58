import os, random, time, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE","linkdo.settings"); django.setup()
from django.conf import settings
settings.DEBUG=False; settings.LINKDO_THROTTLE_WORKSPACE=None; settings.LINKDO_THROTTLE_IP=None
from django.db import connection
from django.test.utils import CaptureQueriesContext
from bench.common import sync_push, drop_workspace
from bench.sync import TAG_POOL
rng=random.Random(3)
tasks=[{"id":f"t{i}","title":f"Task {i}","description":"Offline words "*3,"tags":sorted(set(rng.sample(TAG_POOL,rng.randint(1,3))))} for i in range(1000)]
ws=sys.argv[1]
drop_workspace(ws)
with CaptureQueriesContext(connection) as q:
    t=time.perf_counter(); sync_push(ws,{"tasks":tasks,"edges":[],"cursor":None,"limit":1}); print("total",time.perf_counter()-t)
slow=max(q.captured_queries,key=lambda x:float(x["time"]))
print(slow["time"])
with connection.cursor() as c:
    c.execute("EXPLAIN "+slow["sql"])
    print("\n".join(r[0] for r in c.fetchall()))
    print(slow["sql"])
