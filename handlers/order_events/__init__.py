"""The order-events subscribers of the FanOut: fulfilment, invoicing, notifications and big-orders."""
