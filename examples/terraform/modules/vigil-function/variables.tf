variable "function_name" {
  description = "Name of the Lambda function."
  type        = string
}

variable "source_dir" {
  description = "Directory with the function's code and its Vigil policy; zipped as the deployment package."
  type        = string
}

variable "handler" {
  description = "Function entry point, e.g. app.handler."
  type        = string
}

variable "runtime" {
  description = "Lambda runtime. Custom runtimes (provided.al2023) ignore AWS_LAMBDA_EXEC_WRAPPER: their bootstrap must end with `exec /opt/vigil/wrap ./real-bootstrap`."
  type        = string
  default     = "python3.13"
}

variable "memory_size" {
  description = "Memory in MB."
  type        = number
  default     = 256
}

variable "timeout" {
  description = "Timeout in seconds."
  type        = number
  default     = 10
}

variable "environment" {
  description = "The function's own environment variables; Vigil's are added to them."
  type        = map(string)
  default     = {}
}

variable "layers" {
  description = "The function's other layers (Lambda allows five in all, the Vigil layer included)."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "How long the function's log group (its output and the Vigil events) is kept."
  type        = number
  default     = 30
}

variable "vigil_layer_arn" {
  description = "Version ARN of the Vigil layer (arn:aws:lambda:REGION:ACCOUNT:layer:vigil:N), as published by `vigil lambda layer`."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", var.vigil_layer_arn))
    error_message = "The vigil_layer_arn must be a layer version ARN, e.g. arn:aws:lambda:eu-west-1:123456789012:layer:vigil:3."
  }
}

variable "vigil_mode" {
  description = "Vigil mode: learn (record what the function does, to build its policy), detect (alert on what the policy does not allow) or enforce (block it)."
  type        = string
  default     = "detect"

  validation {
    condition     = contains(["learn", "detect", "enforce"], var.vigil_mode)
    error_message = "The vigil_mode must be learn, detect or enforce."
  }
}

variable "vigil_policy_file" {
  description = "The Vigil policy's path inside source_dir. vigil.yaml is found without configuration; another name is passed as VIGIL_POLICY."
  type        = string
  default     = "vigil.yaml"
}

variable "vigil_collector" {
  description = "Optional collector URL (VIGIL_COLLECTOR) that also receives the events in batches; null for CloudWatch Logs only."
  type        = string
  default     = null
}
