"""Service tickets: the ticket, its workflow, SLAs in business time, satisfaction follow-up."""
