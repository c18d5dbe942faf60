"""Payments and subscriptions through Stripe, MyFatoorah, Paymob or the sandbox gateway."""
