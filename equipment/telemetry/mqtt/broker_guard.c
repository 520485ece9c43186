/*
 * equipment_guard: a Mosquitto 2.0 (plugin API v5) guard for elevator terminals.
 *
 * Why: Mosquitto's acl_file grants every SUBSCRIBE (its subscription check is a FIXME in 2.0.x and only
 * deliveries are filtered), does not look at the retain flag and does not tie a client id to a username.
 * So a terminal could join the platform's shared subscription ($share/ingest/...) and make the broker hand
 * it (and then drop) a share of every terminal's messages, take over another terminal's client id, or
 * park a large retained message. This guard only *refuses*; whatever it lets through is still decided by
 * the password and ACL files (it answers "defer"), so it adds no access of its own.
 *
 * Every user that is not listed in the `service_users` option is a terminal, and for a terminal T:
 *   CONNECT    client id must be T (else refused: "not authorised"; an existing T connection stays);
 *   SUBSCRIBE  only the literal filter equipment/T/cmd (anything else: SUBACK "not authorised");
 *   PUBLISH    only equipment/T/state, equipment/T/event, equipment/T/online, retain only on online, and
 *              at most `max_payload` bytes (the will is checked the same way at CONNECT). Refused
 *              messages get PUBACK "not authorised" (MQTT 5) and are dropped. (Mosquitto's own
 *              message_size_limit answers with reason 0x95, which is not a PUBACK code: paho calls that
 *              a protocol error, reconnects and resends the message for ever.)
 *   RATE       per terminal, token buckets for events and for everything else (`event_budget`,
 *              `state_budget`, "rate/burst" in messages): what is over is refused like the above. The
 *              platform's consumer has its own, tighter budget that counts rejects (rate_limited); this
 *              ceiling keeps a flood (a C client sends >100,000 messages a second) from ever reaching it,
 *              so other terminals' messages do not queue behind it.
 *
 * mosquitto.conf:
 *   plugin /path/to/equipment_guard.so
 *   plugin_opt_service_users platform-ingest,platform-admin
 *   plugin_opt_max_payload 8192
 *   plugin_opt_state_budget 40/200
 *   plugin_opt_event_budget 40/400
 *
 * Built by equipment.telemetry.mqtt.broker.build_guard (gcc -shared -fPIC); the declarations below are those of
 * Mosquitto 2.0's mosquitto_broker.h / mosquitto_plugin.h (the Debian package ships no headers).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct mosquitto;
typedef struct mosquitto_plugin_id_t mosquitto_plugin_id_t;
typedef struct mqtt5__property mosquitto_property;
typedef int (*MOSQ_FUNC_generic_callback)(int, void *, void *);
struct mosquitto_opt { char *key; char *value; };

struct mosquitto_evt_acl_check {
	void *future;
	struct mosquitto *client;
	const char *topic;
	const void *payload;
	mosquitto_property *properties;
	int access;
	uint32_t payloadlen;
	uint8_t qos;
	bool retain;
	void *future2[4];
};

struct mosquitto_evt_basic_auth {
	void *future;
	struct mosquitto *client;
	char *username;
	char *password;
	void *future2[4];
};

enum { MOSQ_EVT_ACL_CHECK = 2, MOSQ_EVT_BASIC_AUTH = 3 };
enum { MOSQ_ERR_SUCCESS = 0, MOSQ_ERR_NOMEM = 1, MOSQ_ERR_AUTH = 11, MOSQ_ERR_ACL_DENIED = 12,
	MOSQ_ERR_PLUGIN_DEFER = 17 };
#define MOSQ_ACL_WRITE 0x02
#define MOSQ_ACL_SUBSCRIBE 0x04
#define MOSQ_LOG_NOTICE (1<<1)

int mosquitto_callback_register(mosquitto_plugin_id_t *identifier, int event, MOSQ_FUNC_generic_callback cb,
		const void *event_data, void *userdata);
int mosquitto_callback_unregister(mosquitto_plugin_id_t *identifier, int event, MOSQ_FUNC_generic_callback cb,
		const void *event_data);
const char *mosquitto_client_id(const struct mosquitto *client);
const char *mosquitto_client_username(const struct mosquitto *client);
void mosquitto_log_printf(int level, const char *fmt, ...);

#define PREFIX "equipment/"
#define PREFIX_LEN 10

static mosquitto_plugin_id_t *plugin_id;
static uint32_t max_payload = 8192;
static char *service_users;  /* ",name1,name2," so that a lookup is one strstr of ",name," */

static bool is_service(const char *username)
{
	size_t len;
	char needle[260];

	if(service_users == NULL) return false;
	len = strlen(username);
	if(len > sizeof(needle) - 3) return false;
	needle[0] = ',';
	memcpy(needle + 1, username, len);
	needle[len + 1] = ',';
	needle[len + 2] = '\0';
	return strstr(service_users, needle) != NULL;
}

/* The part of `topic` after "equipment/<username>/", or NULL when the topic is not under the terminal's own. */
static const char *own_suffix(const char *topic, const char *username)
{
	size_t ulen = strlen(username);

	if(strncmp(topic, PREFIX, PREFIX_LEN) != 0) return NULL;
	if(strncmp(topic + PREFIX_LEN, username, ulen) != 0) return NULL;
	if(topic[PREFIX_LEN + ulen] != '/') return NULL;
	return topic + PREFIX_LEN + ulen + 1;
}

/* -- per-terminal budgets: open addressing on the username, reset when it fills (the broker is single-threaded) */
struct budget { double rate; double burst; };
struct bucket { char *name; double tokens[2]; double at[2]; };

#define TABLE_SIZE (1u << 18)
static struct budget budgets[2] = {{40.0, 200.0}, {40.0, 400.0}};  /* [0] states/online, [1] events */
static struct bucket *table;
static unsigned table_used;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void table_clear(void)
{
	unsigned i;

	if(table == NULL) return;
	for(i = 0; i < TABLE_SIZE; i++) free(table[i].name);
	memset(table, 0, TABLE_SIZE * sizeof(*table));
	table_used = 0;
}

static struct bucket *bucket_of(const char *username, double now)
{
	uint32_t h = 2166136261u;  /* FNV-1a */
	const unsigned char *p;
	unsigned i;
	struct bucket *b;

	if(table == NULL) return NULL;
	for(p = (const unsigned char *)username; *p; p++) h = (h ^ *p) * 16777619u;
	for(i = h & (TABLE_SIZE - 1);; i = (i + 1) & (TABLE_SIZE - 1)){
		b = &table[i];
		if(b->name == NULL) break;
		if(strcmp(b->name, username) == 0) return b;
	}
	if(table_used > TABLE_SIZE / 2){
		table_clear();
		return bucket_of(username, now);
	}
	b->name = strdup(username);
	if(b->name == NULL) return NULL;
	table_used++;
	b->tokens[0] = budgets[0].burst; b->tokens[1] = budgets[1].burst;
	b->at[0] = b->at[1] = now;
	return b;
}

static bool within_budget(const char *username, int kind)
{
	double now = now_s();
	struct bucket *b = bucket_of(username, now);

	if(b == NULL) return true;  /* out of memory: do not turn it into an outage */
	b->tokens[kind] += (now - b->at[kind]) * budgets[kind].rate;
	if(b->tokens[kind] > budgets[kind].burst) b->tokens[kind] = budgets[kind].burst;
	b->at[kind] = now;
	if(b->tokens[kind] < 1.0) return false;
	b->tokens[kind] -= 1.0;
	return true;
}

static void parse_budget(const char *text, struct budget *out)
{
	char *end;
	double rate = strtod(text, &end), burst = rate;

	if(*end == '/') burst = strtod(end + 1, NULL);
	if(rate > 0.0 && burst >= 1.0){
		out->rate = rate;
		out->burst = burst;
	}
}

static int on_basic_auth(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *ed = event_data;
	const char *client_id;

	(void)event; (void)userdata;
	if(ed->username == NULL || is_service(ed->username)) return MOSQ_ERR_PLUGIN_DEFER;
	client_id = mosquitto_client_id(ed->client);
	if(client_id == NULL || strcmp(client_id, ed->username) != 0){
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "equipment_guard: refused %s: client id must equal the username",
				ed->username);
		return MOSQ_ERR_AUTH;
	}
	return MOSQ_ERR_PLUGIN_DEFER;
}

static int check_publish(const struct mosquitto_evt_acl_check *ed, const char *username, const char *suffix)
{
	int kind;

	if(suffix == NULL || ed->payloadlen > max_payload) return MOSQ_ERR_ACL_DENIED;
	if(strcmp(suffix, "online") == 0 || strcmp(suffix, "state") == 0){
		kind = 0;
	}else if(strcmp(suffix, "event") == 0){
		kind = 1;
	}else{
		return MOSQ_ERR_ACL_DENIED;
	}
	if(ed->retain && strcmp(suffix, "online") != 0) return MOSQ_ERR_ACL_DENIED;  /* replayed for ever */
	if(!within_budget(username, kind)) return MOSQ_ERR_ACL_DENIED;  /* (the will's check at CONNECT costs one) */
	return MOSQ_ERR_PLUGIN_DEFER;
}

static int on_acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ed = event_data;
	const char *username = mosquitto_client_username(ed->client);
	const char *suffix;

	(void)event; (void)userdata;
	if(username == NULL || is_service(username)) return MOSQ_ERR_PLUGIN_DEFER;
	suffix = own_suffix(ed->topic, username);
	if(ed->access == MOSQ_ACL_SUBSCRIBE){
		if(suffix != NULL && strcmp(suffix, "cmd") == 0) return MOSQ_ERR_PLUGIN_DEFER;
		mosquitto_log_printf(MOSQ_LOG_NOTICE, "equipment_guard: refused subscription of %s to %s",
				username, ed->topic);
		return MOSQ_ERR_ACL_DENIED;
	}
	if(ed->access == MOSQ_ACL_WRITE) return check_publish(ed, username, suffix);
	return MOSQ_ERR_PLUGIN_DEFER;  /* read and unsubscribe: the ACL file decides */
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	(void)supported_version_count; (void)supported_versions;
	return 5;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata, struct mosquitto_opt *options,
		int option_count)
{
	int i;
	size_t len;

	(void)userdata;
	plugin_id = identifier;
	for(i = 0; i < option_count; i++){
		if(options[i].value == NULL) continue;
		if(strcmp(options[i].key, "state_budget") == 0){
			parse_budget(options[i].value, &budgets[0]);
		}else if(strcmp(options[i].key, "event_budget") == 0){
			parse_budget(options[i].value, &budgets[1]);
		}else if(strcmp(options[i].key, "max_payload") == 0){
			max_payload = (uint32_t)strtoul(options[i].value, NULL, 10);
		}else if(strcmp(options[i].key, "service_users") == 0){
			len = strlen(options[i].value);
			free(service_users);
			service_users = malloc(len + 3);
			if(service_users == NULL) return MOSQ_ERR_NOMEM;
			service_users[0] = ',';
			memcpy(service_users + 1, options[i].value, len);
			service_users[len + 1] = ',';
			service_users[len + 2] = '\0';
		}
	}
	table = calloc(TABLE_SIZE, sizeof(*table));
	if(table == NULL) return MOSQ_ERR_NOMEM;
	mosquitto_callback_register(plugin_id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL, NULL);
	mosquitto_callback_register(plugin_id, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL, NULL);
	return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
	(void)userdata; (void)options; (void)option_count;
	mosquitto_callback_unregister(plugin_id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL);
	mosquitto_callback_unregister(plugin_id, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL);
	free(service_users);
	service_users = NULL;
	table_clear();
	free(table);
	table = NULL;
	return MOSQ_ERR_SUCCESS;
}
