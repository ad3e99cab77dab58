"""`make load` serves LinkDo's URLs plus one trivial Django view, its throughput baseline."""

from django.http import HttpResponse
from django.urls import path

from linkdo.urls import handler404, handler500  # noqa: F401
from linkdo.urls import urlpatterns as linkdo_urlpatterns


def trivial(request):
    return HttpResponse(b'{"ok": true}', content_type="application/json")


urlpatterns = [path("bench/trivial", trivial), *linkdo_urlpatterns]
