"""Application Default Credentials that sign in at a loopback fake, so the real auth path runs.

    key_file = service_account_key(tmp_path, serve_token_endpoint(api), project="my-project")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))

`service_account_key` writes a service-account key file with a freshly generated RSA key whose
`token_uri` points at the fake; `serve_token_endpoint` answers google-auth's JWT-bearer token
exchange there with access tokens `token-1`, `token-2`, ... (a request's `authorization`
header then shows which credentials it carried); `verified_claims` checks the JWTs that
google-auth signs with the key itself for Google APIs (no token exchange).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.vertex_api import ApiError, FakeVertexAPI, RecordedRequest

_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def serve_token_endpoint(api: FakeVertexAPI) -> str:
    """Serve the OAuth token endpoint at `<endpoint>/token`; returns its URI."""
    tokens = itertools.count(1)

    def issue_token(request: RecordedRequest) -> tuple[int, Any]:
        if request.body.get("grant_type") != _JWT_BEARER or not request.body.get("assertion"):
            raise ApiError(400, "INVALID_ARGUMENT", "expected a JWT-bearer grant with an assertion")
        return 200, {"access_token": f"token-{next(tokens)}", "expires_in": 3600, "token_type": "Bearer"}

    api.add_route("POST", r"/token", issue_token)
    return f"{api.endpoint}/token"


def service_account_key(folder: Path, token_uri: str, project: str) -> Path:
    """Write a service-account key file (new RSA key) signing in at `token_uri`; returns its path."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    email = f"keel-tests@{project}.iam.gserviceaccount.com"
    key = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": "0" * 40,
        "private_key": pem.decode(),
        "client_email": email,
        "client_id": "1" * 21,
        "token_uri": token_uri,
    }
    path = folder / "service-account.json"
    path.write_text(json.dumps(key))
    return path


def verified_claims(authorization: str, key_file: Path) -> dict[str, Any]:
    """The claims of an `authorization: Bearer <JWT>` header, its signature checked against the
    public half of the key in `key_file` (google-auth signs such JWTs itself for Google APIs)."""
    from google.auth import jwt

    private_key = serialization.load_pem_private_key(
        json.loads(key_file.read_text())["private_key"].encode(), None
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return jwt.decode(authorization.removeprefix("Bearer "), certs=public_pem.decode())
