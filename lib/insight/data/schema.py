"""The canonical data model: every table a study may have, its columns, keys, allowed values,
ranges and relations. This declaration is the contract between loaders, the demo generator and
the analyses; insight.data.validate turns it into pandera checks.

Conventions: ids are strings; dates are pandas datetime64 (day precision unless the column says
timestamp); money in the study's currency as float; categorical values lower_snake_case.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Col:
    name: str
    dtype: str                      # str | int | float | bool | date | datetime
    required: bool = True           # the column must exist after mapping
    nullable: bool = False          # values may be missing
    allowed: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    references: str | None = None   # "table.column" that must contain every non-null value
    personal: bool = False          # pseudonymised (ids) or masked (free text) before analysis
    free_text: bool = False         # emails/phones masked, always escaped in reports
    description: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Col, ...]
    date_column: str | None = None  # the column that places a row in time (period covered)
    extra_columns: bool = False     # wide tables (survey answers) keep unlisted columns

    def col(self, name: str) -> Col:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


SEGMENTS = ("enterprise", "mid_market", "smb")
CUSTOMER_STATUS = ("existing", "churned", "prospect", "competitor")
DEPARTMENTS = ("sales", "support", "customer_success", "product", "marketing", "billing")
CHANNELS = ("email", "phone", "chat", "meeting", "video", "webinar", "documentation", "academy",
            "community", "web", "event", "paid_ads", "referral", "organic_search", "partner")
INTERACTION_TYPES = (
    "consultation", "complaint", "suggestion", "demo", "onboarding", "education",
    # the customer-success review cadence (seed 004)
    "initial_assessment", "implementation_checkup", "six_month_update", "renewal_review",
)
ROLES = ("decision_maker", "influencer", "purchaser", "user", "champion")
GENDERS = ("female", "male", "other", "undisclosed")
AGE_BANDS = ("18-29", "30-39", "40-49", "50-59", "60+")
QUAL_KINDS = ("interview_1to1", "group_interview", "phone_interview", "video_interview", "focus_group",
              "observation_log", "expert_session", "community_post", "open_end", "complaint_text")

TABLES: dict[str, Table] = {t.name: t for t in [
    Table("customers", "One row per customer account (company).", ("customer_id",), (
        Col("customer_id", "str"),
        Col("name", "str", required=False, nullable=True, personal=True, description="contact person"),
        Col("email", "str", required=False, nullable=True, personal=True),
        Col("phone", "str", required=False, nullable=True, personal=True),
        Col("company", "str", required=False, nullable=True),
        Col("region", "str", nullable=True),
        Col("country", "str", required=False, nullable=True),
        Col("segment", "str", nullable=True, allowed=SEGMENTS),
        Col("industry", "str", required=False, nullable=True),
        Col("employees", "int", required=False, nullable=True, min=0),
        Col("signup_date", "date"),
        Col("churn_date", "date", required=False, nullable=True),
        Col("status", "str", allowed=CUSTOMER_STATUS),
        Col("churn_reason", "str", required=False, nullable=True),
        Col("churn_category", "str", required=False, nullable=True,
            description="broad reason group, e.g. competitor, dissatisfaction, price, attitude, other"),
        Col("tenure_months", "float", required=False, nullable=True, min=0,
            description="months the customer has been (churned: was) a customer, as of the export"),
        # demographics of a consumer export (one person per account); segment analyses group by them
        Col("gender", "str", required=False, nullable=True, allowed=GENDERS),
        Col("age", "int", required=False, nullable=True, min=0, max=120),
        Col("age_band", "str", required=False, nullable=True, allowed=AGE_BANDS),
        Col("senior", "bool", required=False, nullable=True, description="senior citizen"),
        Col("partner", "bool", required=False, nullable=True, description="lives with a partner"),
        Col("dependents", "bool", required=False, nullable=True, description="has dependents (children) in the household"),
        Col("household_size", "int", required=False, nullable=True, min=1),
        Col("owner", "str", required=False, nullable=True, description="customer-success owner / account manager"),
        Col("acquisition_channel", "str", required=False, nullable=True),
    ), date_column="signup_date"),
    Table("products", "Products and plans.", ("product_id",), (
        Col("product_id", "str"),
        Col("name", "str"),
        Col("category", "str"),
        Col("launch_date", "date", required=False, nullable=True),
        Col("list_price", "float", required=False, nullable=True, min=0),
    )),
    Table("orders", "Order lines; returns/cancellations flagged, never counted as purchases.", ("order_id", "product_id"), (
        Col("order_id", "str"),
        Col("customer_id", "str", references="customers.customer_id"),
        Col("product_id", "str", references="products.product_id"),
        Col("order_date", "date"),
        Col("quantity", "float"),
        Col("revenue", "float"),
        Col("is_return", "bool", required=False),
        Col("settlement_days", "int", required=False, nullable=True, min=0, description="days to pay"),
    ), date_column="order_date"),
    Table("subscriptions", "Contracts: plan, MRR, term.", ("subscription_id",), (
        Col("subscription_id", "str"),
        Col("customer_id", "str", references="customers.customer_id"),
        Col("product_id", "str", references="products.product_id"),
        Col("plan", "str", required=False, nullable=True),
        Col("mrr", "float", min=0),
        Col("seats", "int", required=False, nullable=True, min=0),
        Col("start_date", "date"),
        Col("end_date", "date", nullable=True),
        Col("renewal_date", "date", required=False, nullable=True),
        Col("status", "str", allowed=("active", "cancelled", "expired")),
    ), date_column="start_date"),
    Table("costs", "Cost to serve per customer and month.", ("customer_id", "period"), (
        Col("customer_id", "str", references="customers.customer_id"),
        Col("period", "date", description="first day of the month"),
        Col("cost_service", "float", min=0),
        Col("cost_support", "float", min=0),
        Col("cost_acquisition", "float", min=0),
        Col("discount", "float", min=0),
    ), date_column="period"),
    Table("interactions", "Every contact: consultations, complaints, suggestions, cadence calls, education.", ("interaction_id",), (
        Col("interaction_id", "str"),
        Col("customer_id", "str", references="customers.customer_id"),
        Col("date", "date"),
        Col("department", "str", allowed=DEPARTMENTS),
        Col("channel", "str", allowed=CHANNELS),
        Col("direction", "str", allowed=("inbound", "outbound")),
        Col("type", "str", allowed=INTERACTION_TYPES),
        Col("product_id", "str", required=False, nullable=True, references="products.product_id"),
        Col("status", "str", required=False, nullable=True, allowed=("open", "resolved", "unresolved", "done")),
        Col("resolved_date", "date", required=False, nullable=True),
        Col("rep", "str", required=False, nullable=True),
        Col("reason_code", "str", required=False, nullable=True),
        Col("implemented", "bool", required=False, nullable=True, description="suggestions: was it implemented"),
        Col("text", "str", required=False, nullable=True, free_text=True),
    ), date_column="date"),
    Table("survey_responses", "One row per respondent; answer columns named by questionnaire ids.", ("respondent_id",), (
        Col("respondent_id", "str"),
        Col("customer_id", "str", required=False, nullable=True, references="customers.customer_id"),
        Col("wave", "int", description="survey year/wave"),
        Col("started_at", "datetime"),
        Col("submitted_at", "datetime", nullable=True),
        Col("duration_seconds", "float", nullable=True, min=0),
        Col("completed", "bool"),
        Col("email", "str", required=False, nullable=True, personal=True),
        Col("gender", "str", required=False, nullable=True, allowed=GENDERS),
        Col("age_band", "str", required=False, nullable=True, allowed=AGE_BANDS),
        Col("role", "str", required=False, nullable=True, allowed=ROLES),
        Col("region", "str", required=False, nullable=True),
        Col("segment", "str", required=False, nullable=True, allowed=SEGMENTS),
        Col("customer_status", "str", required=False, nullable=True, allowed=CUSTOMER_STATUS),
    ), date_column="started_at", extra_columns=True),
    Table("participants", "People in qualitative research (interviews, groups, councils, community).", ("participant_id",), (
        Col("participant_id", "str"),
        Col("customer_id", "str", required=False, nullable=True, references="customers.customer_id"),
        Col("name", "str", required=False, nullable=True, personal=True),
        Col("segment", "str", required=False, nullable=True, allowed=SEGMENTS),
        Col("region", "str", required=False, nullable=True),
        Col("role", "str", required=False, nullable=True, allowed=ROLES + ("expert",)),
        Col("customer_status", "str", required=False, nullable=True, allowed=CUSTOMER_STATUS),
        Col("gender", "str", required=False, nullable=True, allowed=GENDERS),
        Col("age_band", "str", required=False, nullable=True, allowed=AGE_BANDS),
        Col("recruited", "bool", required=False, nullable=True, description="False: on the recruitment list only"),
    )),
    Table("qual_sources", "Interviews, focus groups, observation-log entries, expert sessions, community posts, open ends.", ("source_id",), (
        Col("source_id", "str"),
        Col("kind", "str", allowed=QUAL_KINDS),
        Col("date", "date"),
        Col("participant_id", "str", required=False, nullable=True, references="participants.participant_id"),
        Col("title", "str", required=False, nullable=True),
        Col("text", "str", required=False, nullable=True, free_text=True),
    ), date_column="date"),
    Table("codebook", "Qualitative codes.", ("code",), (
        Col("code", "str"),
        Col("parent", "str", required=False, nullable=True),
        Col("definition", "str", required=False, nullable=True),
        Col("hypotheses", "str", required=False, nullable=True, description="comma-separated hypothesis ids"),
    )),
    Table("coded_segments", "Excerpts coded by a coder; double coding gives reliability.", ("segment_id", "coder", "code"), (
        Col("segment_id", "str"),
        Col("source_id", "str", references="qual_sources.source_id"),
        Col("participant_id", "str", required=False, nullable=True, references="participants.participant_id"),
        Col("coder", "str"),
        Col("code", "str", references="codebook.code"),
        Col("excerpt", "str", free_text=True),
        Col("turn", "int", required=False, nullable=True, min=0),
        Col("is_probe", "bool", required=False, nullable=True, description="answer to a follow-up (probing) question"),
    )),
    Table("journey_events", "Touchpoints of customers and visitors, in time order.", ("event_id",), (
        Col("event_id", "str"),
        Col("customer_id", "str", required=False, nullable=True, references="customers.customer_id"),
        Col("visitor_id", "str"),
        Col("timestamp", "datetime"),
        Col("step", "str"),
        Col("channel", "str", allowed=CHANNELS),
        Col("touchpoint", "str", required=False, nullable=True),
        Col("segment", "str", required=False, nullable=True, allowed=SEGMENTS),
    ), date_column="timestamp"),
    Table("usage", "Product usage per customer, month and feature.", ("customer_id", "month", "feature"), (
        Col("customer_id", "str", references="customers.customer_id"),
        Col("month", "date"),
        Col("feature", "str"),
        Col("active_users", "int", min=0),
        Col("events", "int", required=False, nullable=True, min=0),
    ), date_column="month"),
    Table("feedback_items", "Bugs and requests from customers through the roadmap.", ("item_id",), (
        Col("item_id", "str"),
        Col("customer_id", "str", references="customers.customer_id"),
        Col("type", "str", allowed=("bug", "request")),
        Col("team", "str"),
        Col("reported_date", "date"),
        Col("status", "str", allowed=("open", "planned", "shipped", "declined")),
        Col("planned_date", "date", nullable=True),
        Col("shipped_date", "date", nullable=True),
        Col("customer_told_date", "date", nullable=True),
        Col("text", "str", required=False, nullable=True, free_text=True),
    ), date_column="reported_date"),
    Table("reviews", "Product ratings and reviews by customers.", ("review_id",), (
        Col("review_id", "str"),
        Col("customer_id", "str", required=False, nullable=True, references="customers.customer_id"),
        Col("product_id", "str", references="products.product_id"),
        Col("date", "date"),
        Col("rating", "int", min=1, max=5),
        Col("text", "str", required=False, nullable=True, free_text=True),
    ), date_column="date"),
]}
