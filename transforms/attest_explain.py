"""The pull-request section of the `attest` transform: what changed, what to check, how to verify."""

from __future__ import annotations

from transforms.base import Finding
from transforms.pins import pin

ACTION = "actions/attest-build-provenance"


def _changes(fixed: list[Finding]) -> list[str]:
    lines = []
    for f in fixed:
        shown = ", ".join(f"`{s.strip()}`" for s in f.data["subjects"])
        extra = " The image build also records BuildKit provenance (`mode=max`) and an SBOM unless the step " \
                "already chose." if "image" in f.data["kinds"] else ""
        lines.append(f"- job `{f.data['job']}`: signed SLSA build provenance for {shown}.{extra}")
    return lines


def _verify(fixed: list[Finding]) -> list[str]:
    repo = fixed[0].data.get("repo", "OWNER/REPO")
    owner = repo.split("/")[0]
    lines = ["**How consumers verify** (GitHub CLI 2.49+):", ""]
    if any("image" in f.data["kinds"] for f in fixed):
        lines += [f"- images: `gh attestation verify oci://IMAGE:TAG --owner {owner}` (add `--bundle-from-oci` to "
                  "read the attestation pushed next to the image instead of GitHub's API)"]
    if any("files" in f.data["kinds"] for f in fixed):
        lines += [f"- files: `gh attestation verify FILE --repo {repo}`"]
    lines += ["- without GitHub's CLI (public repositories, signed through the public Sigstore instance): "
              "`cosign verify-attestation --new-bundle-format --type slsaprovenance1 "
              "--certificate-oidc-issuer https://token.actions.githubusercontent.com "
              f"--certificate-identity-regexp '^https://github.com/{repo}/' IMAGE@DIGEST` (cosign 2.4+)", ""]
    return lines


def explain(findings: list[Finding]) -> str:
    fixed = [f for f in findings if f.fixable]
    lines = ["### Build provenance attestations", "", *_changes(fixed)]
    lines += [f"- {f.message}" for f in findings if not f.fixable]
    if not fixed:
        return "\n".join(lines) + "\n"
    ghcr = any(f.data.get("ghcr") for f in fixed)
    lines += ["", "**Before merging**: artifact attestations work in public repositories on every plan; private "
              "and internal repositories need GitHub Enterprise Cloud (on other plans the new step fails the job, "
              "and GitHub Enterprise Server has none). Nothing else to set up: no secret, no cloud trust. The job "
              "gets `id-token: write` (the Sigstore signing certificate), `attestations: write` and "
              "`artifact-metadata: write`" + (", and `packages: write` to push the attestation to ghcr.io" if ghcr
                                                else "") + ".", "",
              f"The step is `{ACTION}` pinned to {pin(ACTION).tag}.", "", *_verify(fixed),
              "**Worth knowing**: `mode=max` provenance records build-argument values, so secrets belong in "
              "secret mounts, never `build-args`; images with provenance or an SBOM are pushed as an image index, "
              "which a few consumers (AWS Lambda, some older registries) reject: set `provenance: false` and "
              "`sbom: false` on that step if so. A file attestation step fails when its pattern matches no file. "
              "Fork pull requests get no OIDC token, so attestation steps they reach fail.", "",
              "**Roll back**: revert this commit; attestations already made stay valid.", ""]
    return "\n".join(lines)
