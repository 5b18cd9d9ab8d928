"""KYC pages: see your level, enter details, upload documents, submit; read a document."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import second_factor_verified
from accounts.selectors import authenticated_user
from exchange.core.errors import DomainError
from exchange.core.forms import add_domain_error
from kyc import selectors, services
from kyc.files import document_file_response
from kyc.forms import DetailsForm, DocumentForm
from kyc.models import KycLevel, LevelLimit, VerificationStatus


@login_required
@require_GET
def status_view(request: HttpRequest) -> HttpResponse:
    return _render_status(request)


def _render_status(
    request: HttpRequest, details_form: DetailsForm | None = None, document_form: DocumentForm | None = None
) -> HttpResponse:
    user = authenticated_user(request)
    latest = selectors.latest_verification(user=user)
    open_one = latest if latest and latest.status in {VerificationStatus.DRAFT, VerificationStatus.PENDING} else None
    draft = open_one if open_one and open_one.status == VerificationStatus.DRAFT else None
    next_level = user.kyc_level + 1 if user.kyc_level < KycLevel.VERIFIED_PLUS else None

    if details_form is None and next_level == KycLevel.VERIFIED and (open_one is None or draft is not None):
        source = draft or latest  # prefill from the draft, or from the rejected attempt
        initial = (
            {
                "full_name": source.full_name,
                "date_of_birth": source.date_of_birth,
                "country": source.country.code,
                "address": source.address,
            }
            if source
            else {}
        )
        details_form = DetailsForm(initial=initial)
    allowed = sorted(services.DOCUMENTS_BY_LEVEL[KycLevel(draft.level)]) if draft else None
    if allowed is None and next_level == KycLevel.VERIFIED_PLUS and open_one is None:
        allowed = sorted(services.DOCUMENTS_BY_LEVEL[KycLevel.VERIFIED_PLUS])
    if document_form is None and allowed:
        document_form = DocumentForm(allowed=allowed)

    context = {
        "latest": latest,
        "draft": draft,
        "pending": open_one if open_one and open_one.status == VerificationStatus.PENDING else None,
        "next_level": next_level,
        "details_form": details_form,
        "document_form": document_form,
        "missing": selectors.missing_documents(draft) if draft else [],
        "limits": LevelLimit.objects.all(),
    }
    return render(request, "kyc/status.html", context)


@login_required
@require_POST
def details_view(request: HttpRequest) -> HttpResponse:
    form = DetailsForm(request.POST)
    if form.is_valid():
        try:
            services.submit_details(user=authenticated_user(request), **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, "Details saved. Now upload your documents.")
            return redirect("kyc:status")
    return _render_status(request, details_form=form)


@login_required
@require_POST
def document_upload_view(request: HttpRequest) -> HttpResponse:
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            document = services.upload_document(
                user=authenticated_user(request),
                document_type=form.cleaned_data["document_type"],
                upload=form.cleaned_data["file"],
            )
        except DomainError as error:
            add_domain_error(form, error, "file")
        else:
            messages.success(request, f"{document.get_document_type_display()} uploaded.")
            return redirect("kyc:status")
    return _render_status(request, document_form=form)


@login_required
@require_POST
def submit_view(request: HttpRequest) -> HttpResponse:
    try:
        services.submit_verification(user=authenticated_user(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Submitted. Compliance reviews verifications in the order they arrive.")
    return redirect("kyc:status")


@login_required
@require_GET
def document_file_view(request: HttpRequest, document_id: int) -> FileResponse:
    """Serve a document to its owner or to compliance staff (the admin's previews use this)."""
    document = selectors.access_document_by_id(
        user=authenticated_user(request), document_id=document_id, second_factor=second_factor_verified(request)
    )
    return document_file_response(document)
