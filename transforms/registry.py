"""The transforms, in run order.

Credential rewrites run before `permissions` so that it sees the needs they create
(`id-token: write` for an OIDC login step).

`persist-credentials` only reads the steps after each checkout and adds one `with:` key; it needs
nothing from the others, and runs before the permission transforms like every other step edit.

`pin-actions` runs last: the other transforms read and upgrade `uses:` refs by tag (`@v1` of a login
action becomes a pinned newer release), which they could not do once a ref is a bare SHA; the steps
they insert come pinned and are left alone; every other `uses:` is pinned afterwards.
"""

from __future__ import annotations

from transforms.attest import Attest
from transforms.base import Transform
from transforms.oidc_aws import OidcAws
from transforms.oidc_azure import OidcAzure
from transforms.oidc_gcp import OidcGcp
from transforms.oidc_vault import OidcVault
from transforms.permissions import Permissions
from transforms.persist_credentials import PersistCredentials
from transforms.pin_actions import PinActions
from transforms.publish_crates import PublishCrates
from transforms.publish_npm import PublishNpm
from transforms.publish_nuget import PublishNuget
from transforms.publish_pypi import PublishPypi
from transforms.publish_rubygems import PublishRubygems
from transforms.registry_login import RegistryLogin
from transforms.static_secrets import StaticSecrets
from transforms.tighten_permissions import TightenPermissions

TRANSFORMS: dict[str, Transform] = {
    "oidc-gcp": OidcGcp(),
    "oidc-azure": OidcAzure(),
    "oidc-vault": OidcVault(),
    "registry-login": RegistryLogin(),
    "oidc-aws": OidcAws(),
    "publish-pypi": PublishPypi(),
    "publish-npm": PublishNpm(),
    "publish-rubygems": PublishRubygems(),
    "publish-crates": PublishCrates(),
    "publish-nuget": PublishNuget(),
    "persist-credentials": PersistCredentials(),
    "attest": Attest(),
    "tighten-permissions": TightenPermissions(),
    "static-secrets": StaticSecrets(),
    "permissions": Permissions(),
    "pin-actions": PinActions(),
}


def default_enabled(transform: Transform) -> bool:
    """Opt-in transforms (e.g. tighten-permissions) run only when named with --only or in the config."""
    return bool(getattr(transform, "default_enabled", True))


def select(only: list[str] | None = None, disable: list[str] | None = None) -> dict[str, Transform]:
    """The enabled transforms in registry order; unknown ids raise KeyError naming them."""
    unknown = [i for i in (only or []) + (disable or []) if i not in TRANSFORMS]
    if unknown:
        raise KeyError(", ".join(unknown))
    chosen = [i for i in TRANSFORMS
              if (i in only if only else default_enabled(TRANSFORMS[i])) and i not in (disable or [])]
    return {i: TRANSFORMS[i] for i in chosen}
