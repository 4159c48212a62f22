"""The person's rights over their data: disclosure (§33), stop of use (§35), retention."""
