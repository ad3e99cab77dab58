"""The API's JSON parser: DRF's, with a body nested too deeply answered as a 400 (Python's JSON
decoder raises RecursionError on about a thousand nested arrays, which DRF let through as a 500)."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser as DRFJSONParser


class JSONParser(DRFJSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
