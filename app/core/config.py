"""Application settings: one pydantic-settings class read from the environment and `.env`.

Every variable is documented in `.env.example` and the README's configuration table; a test
keeps the three in step.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from cryptography.fernet import Fernet
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CsvList = Annotated[list[str], NoDecode]

# Strings that people paste from examples and tutorials; never acceptable in production.
PLACEHOLDER_SECRETS = frozenset(
    {
        "change-me",
        "changeme",
        "secret",
        "your-secret-key",
        "your-secret-key-here",
        "supersecret",
        "please-change-me",
        "dev-secret-key",
        "change-me-to-a-long-random-string",
    }
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=True
    )

    # --- Application ---
    PROJECT_NAME: str = "LMS Backend"
    VERSION: str = "1.0.0"
    ENVIRONMENT: Literal["development", "test", "staging", "production"] = "development"
    DEBUG: bool = False
    API_V1_PREFIX: str = "/api/v1"
    ENABLE_API_DOCS: bool | None = None
    # Public URL of this API (certificate verify links, signed download links); empty means
    # the served address, http://HOST:PORT.
    PUBLIC_BASE_URL: str = ""
    FRONTEND_URL: str = "http://localhost:3000"
    VAR_DIR: Path = Path("var")
    LOG_LEVEL: str = "INFO"
    LOG_LEVEL_LIBRARIES: str = "WARNING"
    LOG_JSON: bool = True
    HOST: str = "127.0.0.1"
    PORT: int = 8000
    WORKERS: int = 1
    # Seconds after a timed quiz attempt's expires_at during which answers are still accepted.
    QUIZ_SUBMIT_GRACE_SECONDS: int = Field(default=30, ge=0, le=600)

    # --- Database ---
    DATABASE_URL: str = "sqlite:///var/lms.db"
    SQLALCHEMY_ECHO: bool = False
    DB_POOL_SIZE: int = Field(default=10, ge=1)
    DB_MAX_OVERFLOW: int = Field(default=5, ge=0)
    DB_POOL_TIMEOUT_SECONDS: float = Field(default=2.0, gt=0)
    DB_POOL_RECYCLE_SECONDS: int = Field(default=1800, ge=-1)
    DB_POOL_PING_IDLE_SECONDS: int = Field(default=10, ge=0)
    DB_ASYNC_POOL_SIZE: int = Field(default=5, ge=1)
    DB_PGBOUNCER: bool = False

    # --- Security / JWT ---
    SECRET_KEY: str | None = None
    ALGORITHM: Literal["HS256", "HS384", "HS512"] = "HS256"
    ACCESS_TOKEN_EXPIRE_MINUTES: int = Field(default=15, ge=1)
    REFRESH_TOKEN_EXPIRE_DAYS: int = Field(default=30, ge=1)
    PASSWORD_RESET_TOKEN_EXPIRE_MINUTES: int = Field(default=30, ge=1)
    EMAIL_VERIFICATION_TOKEN_EXPIRE_HOURS: int = Field(default=24, ge=1)
    ENROLLMENT_INVITATION_EXPIRE_DAYS: int = Field(default=14, ge=1)
    MFA_CHALLENGE_TOKEN_EXPIRE_MINUTES: int = Field(default=10, ge=1)
    MFA_ISSUER: str = "LMS Backend"
    # Fernet keys that encrypt TOTP secrets at rest: the first encrypts, every one decrypts, so
    # a new key goes first and the old one stays second until every secret was rewritten.
    MFA_SECRET_ENCRYPTION_KEYS: CsvList = []
    PASSWORD_MIN_LENGTH: int = Field(default=8, ge=8, le=72)
    ALLOW_INSTRUCTOR_SIGNUP: bool = False
    REQUIRE_EMAIL_VERIFICATION: bool = False
    # Memory that password hashes running at once may take in one API process (each argon2id
    # hash takes 19 MiB), and how long a sign-in waits for room before answering 503.
    PASSWORD_HASHING_MEMORY_MB: int = Field(default=80, ge=19)
    PASSWORD_HASHING_QUEUE_SECONDS: float = Field(default=10.0, gt=0)
    MAX_FAILED_LOGIN_ATTEMPTS: int = Field(default=5, ge=1)
    ACCOUNT_LOCKOUT_BASE_SECONDS: int = Field(default=60, ge=1)
    ACCOUNT_LOCKOUT_MAX_SECONDS: int = Field(default=3600, ge=1)
    AUTH_COOKIE_MODE: bool = False
    AUTH_COOKIE_SECURE: bool | None = None
    AUTH_COOKIE_SAMESITE: Literal["lax", "strict", "none"] = "lax"
    AUTH_COOKIE_DOMAIN: str | None = None

    # --- HTTP: CORS, hosts, proxies, headers ---
    CORS_ORIGINS: CsvList = ["http://localhost:3000", "http://localhost:5173"]
    TRUSTED_HOSTS: CsvList = ["localhost", "127.0.0.1", "testserver", "[::1]"]
    FORWARDED_ALLOW_IPS: CsvList = []
    SECURITY_HEADERS_ENABLED: bool = True
    RESPONSE_ENVELOPE_ENABLED: bool = False
    METRICS_ENABLED: bool = True
    METRICS_TOKEN: str | None = None

    # --- Redis, cache, background jobs ---
    REDIS_URL: str | None = None
    CACHE_ENABLED: bool = True
    CACHE_DEFAULT_TTL_SECONDS: int = Field(default=60, ge=1)
    COURSE_CACHE_TTL_SECONDS: int = Field(default=30, ge=1)
    ANALYTICS_CACHE_TTL_SECONDS: int = Field(default=60, ge=1)
    CELERY_BROKER_URL: str | None = None
    CELERY_RESULT_BACKEND: str | None = None
    TASKS_FORCE_INLINE: bool = False
    TASK_MAX_RETRIES: int = Field(default=5, ge=0)
    # Longer than a task can be held unacknowledged: the longest retry countdown (600 s) plus
    # the hard time limit (180 s), see app/core/tasks.py.
    CELERY_VISIBILITY_TIMEOUT_SECONDS: int = Field(default=900, ge=1)

    # --- Rate limiting ---
    RATE_LIMIT_ENABLED: bool = True
    RATE_LIMIT_USE_REDIS: bool = True
    RATE_LIMIT_REQUESTS_PER_MINUTE: int = Field(default=100, ge=1)
    RATE_LIMIT_WINDOW_SECONDS: int = Field(default=60, ge=1)
    AUTH_RATE_LIMIT_REQUESTS_PER_MINUTE: int = Field(default=60, ge=1)
    # Failed sign-ins per client address and minute (successes do not count): a flood and
    # password-spraying guard, far above what a school behind one address mistypes.
    LOGIN_FAILURES_PER_IP_PER_MINUTE: int = Field(default=50, ge=1)
    UPLOAD_RATE_LIMIT_REQUESTS_PER_HOUR: int = Field(default=100, ge=1)
    CERTIFICATE_VERIFY_RATE_LIMIT_PER_MINUTE: int = Field(default=30, ge=1)
    RATE_LIMIT_REDIS_PREFIX: str = "ratelimit"
    RATE_LIMIT_EXCLUDED_PATHS: CsvList = [
        "/",
        "/docs",
        "/redoc",
        "/openapi.json",
        "/static-offline-docs",
        "/api/v1/health",
        "/api/v1/ready",
        "/metrics",
    ]

    # --- Email ---
    EMAIL_BACKEND: Literal["console", "smtp"] = "console"
    EMAIL_FROM: str = "no-reply@lms.local"
    EMAIL_FROM_NAME: str = "LMS"
    SMTP_HOST: str | None = None
    SMTP_PORT: int = 587
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_USE_TLS: bool = True
    SMTP_USE_SSL: bool = False
    SMTP_TIMEOUT_SECONDS: int = 10

    # --- OneRoster rostering and data export ---
    ROSTER_MAX_UPLOAD_MB: int = Field(default=50, ge=1)
    # Zip bomb guards: the declared uncompressed total, and any member's compression ratio.
    ROSTER_MAX_UNCOMPRESSED_MB: int = Field(default=1000, ge=1)
    ROSTER_MAX_COMPRESSION_RATIO: int = Field(default=200, ge=1)
    ROSTER_BATCH_SIZE: int = Field(default=1000, ge=1, le=10000)
    # A running import whose progress has not moved for this long lost its worker: it is
    # marked failed (checked on ROSTER_STALL_CRON and whenever imports are read). Keep it
    # above the time one batch can take; the import task's own limit is 10 minutes.
    ROSTER_STALL_MINUTES: int = Field(default=15, ge=1)
    ROSTER_STALL_CRON: str = "*/5 * * * *"
    INVITATION_TOKEN_EXPIRE_HOURS: int = Field(default=168, ge=1)
    DATA_EXPORT_LINK_EXPIRE_MINUTES: int = Field(default=60, ge=1)

    # --- Files and storage ---
    UPLOAD_DIR: Path = Path("var/uploads")
    CERTIFICATES_DIR: Path = Path("var/certificates")
    MAX_UPLOAD_MB: int = Field(default=100, ge=1)
    ALLOWED_UPLOAD_EXTENSIONS: CsvList = [
        "mp4",
        "avi",
        "mov",
        "pdf",
        "doc",
        "docx",
        "jpg",
        "jpeg",
        "png",
        "txt",
        "zip",
    ]
    FILE_STORAGE_PROVIDER: Literal["local", "s3", "azure"] = "local"
    FILE_DOWNLOAD_URL_EXPIRE_SECONDS: int = Field(default=900, ge=1)
    S3_BUCKET_NAME: str | None = None
    S3_REGION: str = "us-east-1"
    S3_ENDPOINT_URL: str | None = None
    AWS_ACCESS_KEY_ID: str | None = None
    AWS_SECRET_ACCESS_KEY: str | None = None
    AZURE_STORAGE_CONNECTION_STRING: str | None = None
    AZURE_STORAGE_ACCOUNT_NAME: str | None = None
    AZURE_STORAGE_ACCOUNT_KEY: str | None = None
    AZURE_STORAGE_ACCOUNT_URL: str | None = None
    AZURE_STORAGE_CONTAINER_NAME: str = "lms-files"
    AZURE_STORAGE_CONTAINER_URL: str | None = None

    # --- Payments ---
    PAYMENT_GATEWAY: Literal["sandbox", "stripe", "myfatoorah", "paymob"] = "sandbox"
    DEFAULT_CURRENCY: str = "USD"
    SANDBOX_WEBHOOK_SECRET: str | None = None
    STRIPE_SECRET_KEY: str | None = None
    STRIPE_WEBHOOK_SECRET: str | None = None
    STRIPE_API_VERSION: str = "2025-09-30.clover"
    STRIPE_API_BASE: str | None = None
    MYFATOORAH_API_KEY: str | None = None
    MYFATOORAH_BASE_URL: str = "https://apitest.myfatoorah.com"
    MYFATOORAH_WEBHOOK_SECRET: str | None = None
    PAYMOB_SECRET_KEY: str | None = None
    PAYMOB_API_KEY: str | None = None
    PAYMOB_PUBLIC_KEY: str | None = None
    PAYMOB_HMAC_SECRET: str | None = None
    PAYMOB_INTEGRATION_ID: int | None = None
    PAYMOB_BASE_URL: str = "https://accept.paymob.com"

    # --- Outgoing webhooks ---
    WEBHOOKS_ALLOW_PRIVATE_TARGETS: bool | None = None
    WEBHOOK_TIMEOUT_SECONDS: float = 10.0
    WEBHOOK_MAX_RETRIES: int = Field(default=8, ge=0)
    # A delivery due this long ago and not being attempted is sent again by the re-drive job;
    # also how long one attempt may hold a delivery (its task is stopped by then).
    WEBHOOK_REDRIVE_AFTER_SECONDS: int = Field(default=300, ge=1)

    # --- Scheduled jobs ---
    WEEKLY_REPORT_CRON: str = "0 9 * * 1"
    COURSE_REMINDER_CRON: str = "0 10 * * *"
    REMINDER_INACTIVE_DAYS: int = Field(default=7, ge=1)
    # Emailing students about unsubmitted work due within DUE_REMINDER_LEAD_HOURS.
    DUE_REMINDER_CRON: str = "*/15 * * * *"
    DUE_REMINDER_LEAD_HOURS: int = Field(default=24, ge=1, le=24 * 14)
    SUBSCRIPTION_EXPIRY_CRON: str = "5 * * * *"
    PAYMENT_RECONCILIATION_CRON: str = "*/10 * * * *"
    WEBHOOK_REDRIVE_CRON: str = "* * * * *"
    # Pending payments are asked about once this old (the webhook had its chance) and until
    # this old (then the checkout has long expired at every gateway).
    PAYMENT_RECONCILIATION_MIN_AGE_MINUTES: int = Field(default=15, ge=1, le=1440)
    PAYMENT_RECONCILIATION_MAX_AGE_DAYS: int = Field(default=7, ge=1)
    PAYMENT_RECONCILIATION_BATCH_SIZE: int = Field(default=100, ge=1, le=1000)
    TOKEN_CLEANUP_CRON: str = "30 3 * * *"  # noqa: S105 - a schedule, not a secret
    SCHEDULE_TIMEZONE: str = "UTC"

    # --- Announcements and discussions ---
    # Publishing scheduled announcements, and fanning out again any whose fan-out stopped.
    ANNOUNCEMENT_PUBLISH_CRON: str = "* * * * *"
    ANNOUNCEMENT_FANOUT_BATCH_SIZE: int = Field(default=500, ge=1, le=5000)
    ANNOUNCEMENT_REDRIVE_AFTER_SECONDS: int = Field(default=600, ge=1)
    DISCUSSION_POSTS_PER_MINUTE: int = Field(default=10, ge=1)
    DISCUSSION_POST_MAX_CHARS: int = Field(default=20000, ge=100, le=200000)

    # --- Observability ---
    SENTRY_DSN: str | None = None
    SENTRY_TRACES_SAMPLE_RATE: float = Field(default=0.0, ge=0.0, le=1.0)
    SENTRY_PROFILES_SAMPLE_RATE: float = Field(default=0.0, ge=0.0, le=1.0)
    SENTRY_RELEASE: str | None = None
    WORKER_METRICS_PORT: int | None = Field(default=None, ge=1, le=65535)

    # --- Secrets providers and optional sign-in ---
    SECRETS_PROVIDER: Literal["env", "vault", "azure_keyvault"] = "env"
    VAULT_ADDR: str | None = None
    VAULT_TOKEN: str | None = None
    VAULT_SECRET_PATH: str = "lms"  # noqa: S105 - a KV path, not a secret
    VAULT_MOUNT_POINT: str = "secret"
    AZURE_KEYVAULT_URL: str | None = None
    FIREBASE_ENABLED: bool = False
    FIREBASE_PROJECT_ID: str | None = None
    FIREBASE_CERTS_URL: str = (
        "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
    )

    @field_validator(
        "CORS_ORIGINS",
        "TRUSTED_HOSTS",
        "FORWARDED_ALLOW_IPS",
        "RATE_LIMIT_EXCLUDED_PATHS",
        "ALLOWED_UPLOAD_EXTENSIONS",
        "MFA_SECRET_ENCRYPTION_KEYS",
        mode="before",
    )
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("ALLOWED_UPLOAD_EXTENSIONS")
    @classmethod
    def _normalize_extensions(cls, value: list[str]) -> list[str]:
        return [item.lower().lstrip(".") for item in value]

    @model_validator(mode="after")
    def _public_base_url_from_address(self) -> Settings:
        if not self.PUBLIC_BASE_URL:
            unspecified = ("", "0.0.0.0", "::")  # noqa: S104  # nosec B104 - compared, not bound
            host = "127.0.0.1" if self.HOST in unspecified else self.HOST
            host = f"[{host}]" if ":" in host else host
            self.PUBLIC_BASE_URL = f"http://{host}:{self.PORT}"
        return self

    # --- Derived values ---
    @property
    def is_production(self) -> bool:
        return self.ENVIRONMENT == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite")

    @property
    def api_docs_enabled(self) -> bool:
        if self.ENABLE_API_DOCS is not None:
            return self.ENABLE_API_DOCS
        return not self.is_production

    @property
    def cookie_secure(self) -> bool:
        if self.AUTH_COOKIE_SECURE is not None:
            return self.AUTH_COOKIE_SECURE
        return self.is_production

    @property
    def webhooks_allow_private(self) -> bool:
        if self.WEBHOOKS_ALLOW_PRIVATE_TARGETS is not None:
            return self.WEBHOOKS_ALLOW_PRIVATE_TARGETS
        return not self.is_production

    @property
    def max_upload_bytes(self) -> int:
        return self.MAX_UPLOAD_MB * 1024 * 1024

    @property
    def broker_url(self) -> str | None:
        return self.CELERY_BROKER_URL or self.REDIS_URL

    @property
    def tasks_inline(self) -> bool:
        return self.TASKS_FORCE_INLINE or self.broker_url is None

    @property
    def signing_key(self) -> str:
        """The JWT/HMAC key: configured, or a random one kept per installation in `VAR_DIR`."""
        if self.SECRET_KEY:
            return self.SECRET_KEY
        return _installation_secret(self.VAR_DIR, "secret_key")

    @property
    def mfa_encryption_keys(self) -> list[str]:
        """The TOTP-secret keys, newest first: configured, or one random key kept per
        installation in `VAR_DIR`.

        Its own file rather than a key derived from SECRET_KEY: rotating the signing key (to end
        every session) must not make every enrolled authenticator unreadable."""
        if self.MFA_SECRET_ENCRYPTION_KEYS:
            return self.MFA_SECRET_ENCRYPTION_KEYS
        return [_installation_secret(self.VAR_DIR, "mfa_secret_key")]

    def production_problems(self) -> list[str]:
        """Every reason this configuration must not serve production traffic."""
        problems: list[str] = []
        if not self.is_production:
            return problems
        key = self.SECRET_KEY or ""
        if not key:
            problems.append("SECRET_KEY is not set")
        elif key.lower() in PLACEHOLDER_SECRETS:
            problems.append("SECRET_KEY is a well-known placeholder value")
        elif len(key) < 32:
            problems.append("SECRET_KEY is shorter than 32 characters")
        if not self.MFA_SECRET_ENCRYPTION_KEYS:
            problems.append(
                "MFA_SECRET_ENCRYPTION_KEYS is not set (generate a key with: python -c "
                "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
            )
        for position, mfa_key in enumerate(self.MFA_SECRET_ENCRYPTION_KEYS, start=1):
            if not _is_fernet_key(mfa_key):
                problems.append(
                    f"MFA_SECRET_ENCRYPTION_KEYS key {position} is not a Fernet key "
                    "(32 random bytes, url-safe base64)"
                )
        if self.DEBUG:
            problems.append("DEBUG must be false")
        if "*" in self.CORS_ORIGINS:
            problems.append("CORS_ORIGINS must not contain '*'")
        if "*" in self.TRUSTED_HOSTS:
            problems.append("TRUSTED_HOSTS must not contain '*'")
        if self.is_sqlite:
            problems.append("DATABASE_URL must point at PostgreSQL, not SQLite")
        if not self.REDIS_URL:
            problems.append("REDIS_URL must be set (rate limits, lockout, cache)")
        if self.TASKS_FORCE_INLINE:
            problems.append("TASKS_FORCE_INLINE must be false (use Celery workers)")
        if self.EMAIL_BACKEND == "smtp" and not self.SMTP_HOST:
            problems.append("SMTP_HOST must be set when EMAIL_BACKEND=smtp")
        if self.FILE_STORAGE_PROVIDER == "s3" and not self.S3_BUCKET_NAME:
            problems.append("S3_BUCKET_NAME must be set when FILE_STORAGE_PROVIDER=s3")
        if self.FILE_STORAGE_PROVIDER == "azure" and not (
            self.AZURE_STORAGE_CONNECTION_STRING or self.AZURE_STORAGE_ACCOUNT_URL
        ):
            problems.append(
                "AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT_URL must be set "
                "when FILE_STORAGE_PROVIDER=azure"
            )
        if self.PAYMENT_GATEWAY == "sandbox":
            problems.append("PAYMENT_GATEWAY=sandbox is for development only")
        return problems


class ConfigurationError(RuntimeError):
    """Raised at startup when production settings are unsafe; lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"Refusing to start in production:\n{listing}")


def _is_fernet_key(key: str) -> bool:
    try:
        Fernet(key)
    except ValueError:
        return False
    return True


# How each per-installation secret kept in VAR_DIR is generated, by file name.
_INSTALLATION_SECRETS: dict[str, Callable[[], str]] = {
    "secret_key": lambda: secrets.token_urlsafe(48),
    "mfa_secret_key": lambda: Fernet.generate_key().decode(),
}


@lru_cache
def _installation_secret(var_dir: Path, name: str) -> str:
    path = var_dir / name
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        scratch = var_dir / f".{name}.{os.getpid()}"
        scratch.write_text(_INSTALLATION_SECRETS[name]())
        scratch.chmod(0o600)
        # link() is atomic and refuses to overwrite: when several workers start at once,
        # exactly one key wins and every process reads that one.
        try:
            os.link(scratch, path)
        except FileExistsError:
            pass
        finally:
            scratch.unlink()
    return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    # The provider's own address and credentials are ordinary settings, so secrets come second.
    from app.core.secrets import apply_secrets

    return apply_secrets(Settings())


def validate_for_startup(settings: Settings) -> None:
    problems = settings.production_problems()
    if problems:
        raise ConfigurationError(problems)
