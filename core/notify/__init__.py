"""Messages to customers (e-mail and SMS) through pluggable delivery gateways.

Billing sends invoices with it; collections (dunning letters) and the customer portal
(sign-in codes, receipts) will too, so nothing here knows what a message is about: a
message has recipients, a subject and a body in one language, and attachments. Which
gateway delivers a channel is a setting (``KILOWATCH_EMAIL_BACKEND``,
``KILOWATCH_SMS_BACKEND``); every send is recorded (``core_notification``) with its outcome,
whatever the gateway answered.
"""
