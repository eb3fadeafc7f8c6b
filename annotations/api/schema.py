"""OpenAPI post-processing: every operation documents the API's one error shape."""

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "code", "message", "fields"],
            "properties": {
                "status": {"type": "integer"},
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            },
        }
    },
}
ERRORS = {
    "400": "The input is invalid; `fields` says what is wrong with which field.",
    "401": "No valid token or session.",
    "403": "Your role in this desk does not allow this.",
    "404": "Not found, or not in one of your desks.",
    "409": "Someone else changed the claim since you read it.",
    "412": "If-Match does not match the current ETag.",
    "413": "The request body is larger than this address accepts.",
    "428": "Send If-Match (or the revision you read).",
}
# Only what a request with a body can be told.
WRITE_ONLY = ("409", "412", "413", "428")


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            responses = operation.setdefault("responses", {})
            for code, description in ERRORS.items():
                if method == "get" and code in WRITE_ONLY:
                    continue
                content = {"application/json": {"schema": ref}}
                responses.setdefault(code, {"description": description, "content": content})
    return result
