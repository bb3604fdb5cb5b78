/* The route table of the HTTP API, as data: method, pattern, handler. Patterns
 * match exactly (see struct http_route); server.c checks the table at
 * start-up. Requests no route takes go to api_fallback (GET/HEAD) or get the
 * reference's JSON 404/405. */
#include "api/handlers.h"
#include "api/resources.h"

const struct http_route api_routes[] = {
    {.method = "GET", .pattern = "/health", .fn = api_health, .light = true},
    /* The MediTrack API (api/persons.c, medications.c, doses.c, reports.c,
     * api_health.c). Collection routes are listed with and without their
     * trailing slash (api.md, decision 7). */
    {.method = "GET", .pattern = "/api/v1/health", .fn = api_health_v1},
    {.method = "GET", .pattern = "/api/v1/persons/", .fn = api_persons_list},
    {.method = "GET", .pattern = "/api/v1/persons", .fn = api_persons_list},
    {.method = "POST", .pattern = "/api/v1/persons/", .fn = api_person_create},
    {.method = "POST", .pattern = "/api/v1/persons", .fn = api_person_create},
    {.method = "GET", .pattern = "/api/v1/persons/{person_id}", .fn = api_person_get},
    {.method = "PUT", .pattern = "/api/v1/persons/{person_id}", .fn = api_person_update},
    {.method = "DELETE", .pattern = "/api/v1/persons/{person_id}", .fn = api_person_delete},
    {.method = "PUT", .pattern = "/api/v1/persons/{person_id}/set-default",
     .fn = api_person_set_default},
    {.method = "GET", .pattern = "/api/v1/medications/", .fn = api_meds_list},
    {.method = "GET", .pattern = "/api/v1/medications", .fn = api_meds_list},
    {.method = "POST", .pattern = "/api/v1/medications/", .fn = api_med_create},
    {.method = "POST", .pattern = "/api/v1/medications", .fn = api_med_create},
    {.method = "GET", .pattern = "/api/v1/medications/{medication_id}", .fn = api_med_get},
    {.method = "PUT", .pattern = "/api/v1/medications/{medication_id}", .fn = api_med_update},
    {.method = "DELETE", .pattern = "/api/v1/medications/{medication_id}", .fn = api_med_delete},
    {.method = "POST", .pattern = "/api/v1/doses/medications/{medication_id}/dose",
     .fn = api_dose_now},
    {.method = "POST", .pattern = "/api/v1/doses/medications/{medication_id}/dose/{date}",
     .fn = api_dose_for_date},
    {.method = "GET", .pattern = "/api/v1/doses/medications/{medication_id}/doses",
     .fn = api_dose_history},
    {.method = "GET", .pattern = "/api/v1/doses/medications/{medication_id}/doses/{date}",
     .fn = api_dose_day},
    {.method = "GET", .pattern = "/api/v1/doses/daily-summary", .fn = api_summary_today},
    {.method = "GET", .pattern = "/api/v1/doses/daily-summary/{date}", .fn = api_summary_date},
    {.method = "GET",
     .pattern = "/api/v1/doses/deleted-medications/by-name/{medication_name}/doses",
     .fn = api_doses_deleted},
    {.method = "DELETE", .pattern = "/api/v1/doses/{dose_id}", .fn = api_dose_delete},
    {.method = "GET", .pattern = "/api/v1/reports/medications/pdf/{date}", .fn = api_report_pdf},
    {.method = "GET", .pattern = "/api/v1/reports/doses.csv", .fn = api_report_doses_csv},
    {.method = "GET", .pattern = "/api/v1/reports/doses.json", .fn = api_report_doses_json},
    /* Documentation (api/openapi.c). */
    {.method = "GET", .pattern = "/openapi.json", .fn = api_openapi, .light = true},
    {.method = "GET", .pattern = "/docs", .fn = api_docs, .light = true},
    {.method = "GET", .pattern = "/redoc", .fn = api_docs, .light = true},
};

const size_t api_n_routes = sizeof(api_routes) / sizeof(api_routes[0]);

/* Unmatched GET/HEAD: the web front end (api/static.c): built into the
 * binary, or from STATIC_DIR; 404 {"detail":"Not Found"} with
 * STATIC_DIR=none. */
const http_handler api_fallback = api_static;
