"""What screens are built from (not screens themselves): the data screen every screen is, and
the paging and sorting every table screen has. No screen imports another; all import these."""
