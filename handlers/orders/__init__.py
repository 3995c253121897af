"""The orders Cqrs handlers: the place-order command, the customer-summary projection, the events publisher."""
