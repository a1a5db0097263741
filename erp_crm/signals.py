"""The cross-area events and questions of the app, as named blinker signals — the one list.

An area low in the house (clients, sales documents, billing, budgets) *sends*; the areas above it
(deals, billing, integration, later activities, reports, mailing) *connect* receivers in their
`receivers.py`, which the area's package `__init__` imports. So a receiver is connected as soon as
its area is imported — `erp_crm/models.py` imports every area — and a service behaves the same in
a request, a CLI command, a job or a test: nothing depends on `create_app`.

Two kinds of signal:

- **events** — something happened, in the caller's transaction (the receivers' writes commit or
  roll back with it); return values are ignored unless the signal says otherwise;
- **questions** — the sender asks the areas above for facts it cannot know (a client's deals, an
  invoice's payment state); every receiver answers, `answers()` collects the answers.

Every signal is sent with the SQLAlchemy `session` as a keyword argument; the sender is the record
the event is about (or None). Receivers take `(sender, **kwargs)` and must accept unknown keywords
(signals may grow arguments).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from blinker import NamedSignal, Namespace

_namespace = Namespace()


def _signal(name: str, doc: str) -> NamedSignal:
    return _namespace.signal(name, doc)


# --- events -------------------------------------------------------------------------------------

document_issued = _signal(
    "document-issued",
    "A sales document was issued (sender: Document; session). The accounting outbox listens.",
)
document_cancelled = _signal(
    "document-cancelled",
    "An issued document was cancelled (sender: Document; session).",
)
first_payment_received = _signal(
    "first-payment-received",
    "An invoice got its first money (sender: the invoice Document; session, actor). The deal's "
    "«prepayment received» stage follows.",
)
deal_stage_changed = _signal(
    "deal-stage-changed",
    "A deal moved to another stage (sender: Deal; session, change: DealStageChange, from_stage, "
    "to_stage, actor). Sent for the opening stage too (from_stage None).",
)
deal_next_contact_set = _signal(
    "deal-next-contact-set",
    "A user gave a deal's next-contact date (sender: Deal; session, day, actor). The date IS a "
    "planned contact: the activities area plans a call that day unless one is planned already.",
)
budget_approved = _signal(
    "budget-approved",
    "A project's budget version was approved (sender: BudgetVersion; session, actor). The "
    "accounting outbox listens.",
)
clients_reassigned = _signal(
    "clients-reassigned",
    "A leaver's clients went to other curators (sender: the leaver User; session, to_users, "
    "actor, with_receivables: move the leaver's won deals that still have unpaid invoices "
    "too). Receivers move their own records along and answer {label: count} for the summary.",
)
client_merged = _signal(
    "client-merged",
    "A duplicate was merged into a survivor (sender: survivor Client; session, duplicate, "
    "actor). Every foreign key to the duplicate is moved by the merge itself; a receiver does "
    "only what is more than re-pointing and answers a JSON-able description of what it did (or "
    "None), kept on the merge record and handed back to it by `client_unmerged`.",
)
client_unmerged = _signal(
    "client-unmerged",
    "A merge was undone (sender: survivor Client; session, duplicate, actor, descriptions: "
    "{receiver key: what that receiver answered to client_merged}).",
)

# --- questions ----------------------------------------------------------------------------------

client_timeline = _signal(
    "client-timeline",
    "Events for the client card's history (sender: Client; session) → list[TimelineEvent].",
)
client_sales = _signal(
    "client-sales",
    "Facts for the relationship type of clients (sender: None; session, client_ids) → "
    "{client_id: (won sales count, has open business)} for the ids the receiver knows of.",
)
client_project_condition = _signal(
    "client-project-condition",
    "The client list's «took part in our project» filter (sender: None; project_id, outcome: "
    "'' any, 'won', 'open', 'lost') → a SQL condition on Client.",
)
client_card_sections = _signal(
    "client-card-sections",
    "Blocks of the client card that belong to the areas above (sender: Client; session, actor) "
    "→ CardSection (its template is included with `section` in the context), or None.",
)
deal_card_sections = _signal(
    "deal-card-sections",
    "Blocks of the deal card that belong to the areas above (sender: Deal; session, actor) "
    "→ CardSection, or None.",
)
deal_next_contacts = _signal(
    "deal-next-contacts",
    "The next step of deals, for the card, the board and the lists (sender: None; session, "
    "deal_ids: a list of ids or a SELECT of them) → {deal id: start (UTC) of its nearest planned "
    "contact} for deals that have one.",
)
document_cancel_refusal = _signal(
    "document-cancel-refusal",
    "May this document be cancelled? (sender: Document; session) → a Russian reason to refuse, "
    "or None.",
)
deal_pricing_refusal = _signal(
    "deal-pricing-refusal",
    "May the lines, discount or prices of this deal change? (sender: Deal; session) → a Russian "
    "reason to refuse (which documents are affected and what to do), or None.",
)
document_payment_orders = _signal(
    "document-payment-orders",
    "Payment orders that paid a deal's invoices by a date, for a VAT invoice's line 5 (sender: "
    "None; session, deal_id, on) → list[{'number', 'date'}].",
)
budget_exchange_state = _signal(
    "budget-exchange-state",
    "Where a budget version stands in the accounting exchange (sender: BudgetVersion; session) "
    "→ the status of its latest outbox message ('pending', 'sent', 'dead'), or None if never "
    "queued.",
)
document_exchange_state = _signal(
    "document-exchange-state",
    "Where a document stands in the accounting exchange (sender: Document; session) → (status "
    "of its latest outbox row: 'pending', 'sent', 'dead', 'invalid'; its error text), or None.",
)
invoice_payment_states = _signal(
    "invoice-payment-states",
    "Payment state labels of invoices (sender: None; session, invoices) → {document id: label}.",
)

stand_deal_condition = _signal(
    "stand-deal-condition",
    "May this deal take a stand? For the stands' conditional UPDATEs (sender: None; deal_id, "
    "outcomes) → a SQL condition on Stand: the deal exists, in the stand's project, with one of "
    "the outcomes.",
)
stand_deal_facts = _signal(
    "stand-deal-facts",
    "A deal holding or asking for a stand, for the stands' messages (sender: None; session, "
    "deal_id, refresh: re-read from the database) → {'project_id', 'outcome', 'label', 'client', "
    "'manager'}, or None if there is no such deal.",
)
project_won_sellers = _signal(
    "project-won-sellers",
    "Who sold in a project, for its plan owners (sender: Project; session) → a SELECT of user ids.",
)
won_sales = _signal(
    "won-sales",
    "Actual sales for plan vs actual (sender: None; session, project_ids or None) → list of "
    "(project id, 'YYYY-MM' Moscow, manager id, m², amount, count) of won deals.",
)
project_payments = _signal(
    "project-payments",
    "Money paid for plan vs actual (sender: Project; session) → {('YYYY-MM' of the payment "
    "date, manager id of the deal): amount} of what was allocated to the project's invoices.",
)
stand_exhibitors = _signal(
    "stand-exhibitors",
    "The hall plan's exhibitors (sender: None; session, deal_ids) → {deal id: client name}.",
)


@dataclass(frozen=True)
class CardSection:
    """A block an area adds to another area's card page: its template (included with `section`
    in the context), the data it shows, and its place (lower first)."""

    template: str
    data: Any = None
    order: int = 100


def answers(signal: NamedSignal, sender: Any = None, **kwargs: Any) -> list[Any]:
    """Send a question and collect the receivers' answers, in connection order, skipping None."""
    return [result for _receiver, result in signal.send(sender, **kwargs) if result is not None]


def receiver_key(receiver: Any) -> str:
    """A stable name of a receiver ("module:function"), to store with what it answered."""
    return f"{receiver.__module__}:{receiver.__qualname__}"


def keyed_answers(signal: NamedSignal, sender: Any = None, **kwargs: Any) -> dict[str, Any]:
    """Send and collect the answers by receiver key (see `receiver_key`), skipping None."""
    return {
        receiver_key(receiver): result
        for receiver, result in signal.send(sender, **kwargs)
        if result is not None
    }
