"""Collections: dunning policies and steps, overdue state, holds, payment plans,
litigation and write-off (issue 14)."""
