"""Pure rewrites of GitHub Actions workflows: text in, findings and edits out."""
