"""The GitHub Actions workflows in .github/workflows, read as GitHub reads them."""
