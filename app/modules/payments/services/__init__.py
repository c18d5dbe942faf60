"""Payments and subscriptions, by responsibility: `checkout` (opening payments),
`subscriptions`, `events` (gateway webhooks and the payment state machine), `refunds`,
`reconciliation`, `plans` and `reads` (listings and revenue).

Rules:
- Amount and currency always come from the course or plan on the server.
- Only the gateway moves a payment to completed: its verified webhook, or its own API
  answering a status query (reconciliation, for a payment whose webhook never came); no
  client-callable endpoint can. Both reach `events.apply_gateway_event`. Each gateway event
  is stored once (unique gateway + event id), so a replayed or concurrently duplicated
  webhook changes nothing the second time; the payment row is locked while an event is
  applied, so events for one payment apply one at a time, and a webhook arriving after
  reconciliation (or the other way round) finds the work done.
- Out-of-order events: a payment never leaves `refunded`, and a late `failed`/`cancelled`
  never overrides `completed`; a late success after a failure still completes.
- A completion whose amount or currency differs from the payment is refused (422).
- Completing a course payment activates the enrollment in the same transaction; completing
  a subscription payment starts the paid period.
- Refund rule: a (full) refund revokes what the payment bought. For a course, the
  enrollment is dropped (its history kept). For a subscription, it ends at once and the
  courses enrolled through it lose access, except those the student also bought.
- Subscriptions whose plan grants all courses let the student enroll in any paid course
  without paying while the period lasts (active, or cancelled but not yet ended); those
  enrollments are recorded as grants and revoked when the subscription expires.
- No database transaction is open while a gateway is asked anything (a checkout, a refund,
  a status): it would hold row locks, a pooled connection and, on SQLite, the database's
  write lock for as long as the gateway takes. What must not happen twice is claimed in a
  transaction of its own before the call, and the gateway's answer applied in another after.
"""
