"""The checkout saga's steps: reserve/release inventory, charge/refund payment, confirm order, mark cancelled."""
